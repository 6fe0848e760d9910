import { backoffMs, escapeHtml, formatMoney, isTransient, render } from "../../domain/notifications";

describe("notification rules", () => {
  it("should escape user text in HTML but not in plain text", () => {
    const vars = { name: `<script>alert("x")</script> & co` };
    expect(render("Hi {{name}}", vars, true)).toBe(
      "Hi &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co",
    );
    expect(render("Hi {{name}}", vars, false)).toBe(`Hi <script>alert("x")</script> & co`);
    expect(escapeHtml("'")).toBe("&#39;");
  });

  it("should repeat a section for each item with the item's fields in scope", () => {
    const out = render(
      "{{#items}}{{quantity}}x{{name}};{{/items}} total {{total}}",
      {
        total: "$3",
        items: [
          { quantity: 1, name: "A" },
          { quantity: 2, name: "B" },
        ],
      },
      false,
    );
    expect(out).toBe("1xA;2xB; total $3");
  });

  it("should format minor units in the currency's own decimals", () => {
    expect(formatMoney(1999, "USD")).toBe("$19.99");
    expect(formatMoney(1999, "JPY")).toBe("¥1,999");
    expect(formatMoney(123456, "EUR", "en-US")).toBe("€1,234.56");
  });

  it("should retry connection failures, SMTP 4xx and Twilio 429/5xx, but not an invalid number", () => {
    expect(isTransient(Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }))).toBe(
      true,
    );
    expect(isTransient({ responseCode: 421 })).toBe(true);
    expect(isTransient({ responseCode: 550 })).toBe(false);
    expect(isTransient({ status: 429 })).toBe(true);
    expect(isTransient({ status: 503 })).toBe(true);
    expect(isTransient({ status: 400 })).toBe(false);
  });

  it("should back off exponentially up to a cap", () => {
    expect([1, 2, 3, 4].map((a) => backoffMs(a, 1000))).toEqual([1000, 2000, 4000, 8000]);
    expect(backoffMs(10, 1000)).toBe(30_000);
  });
});
