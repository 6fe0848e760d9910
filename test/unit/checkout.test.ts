import type { OrderStatus } from "../../contracts";
import { MoneyError, commonCurrency, lineTotal, sum } from "../../domain/money";
import {
  MAX_LINES,
  addLine,
  cartView,
  emptyCart,
  refreshLines,
  removeLine,
  setQuantity,
  type CartLine,
} from "../../domain/cart";
import { TRANSITIONS, canTransition, transition } from "../../domain/order-state";
import {
  KEY_TTL_MS,
  bodyHash,
  canonicalJson,
  decide,
  isValidKey,
  keyRecordId,
  newKeyRecord,
} from "../../domain/idempotency";
import { PAYMENT_TRANSITIONS, SimulatedProvider, WEBHOOK_EFFECTS } from "../../domain/payments";
import { mergeLines, newOrder, outcome, priceLines, shortProducts } from "../../domain/checkout";
import { RuleError } from "../../domain/rule-error";
import { ConfigError, loadConfig } from "../../lib/config";

const lamp = { name: "Lamp", price: 1999, currency: "USD" };
const desk = { name: "Desk", price: 25000, currency: "USD" };
const ruleOf = (fn: () => unknown): RuleError => {
  try {
    fn();
  } catch (err) {
    if (err instanceof RuleError) return err;
    throw err;
  }
  throw new Error("expected a RuleError");
};

describe("money in integer minor units", () => {
  it("should multiply and add exactly, refusing anything that is not a safe integer", () => {
    expect(lineTotal(1999, 3)).toBe(5997);
    expect(sum([5997, 25000, 0])).toBe(30997);
    expect(() => lineTotal(19.99, 1)).toThrow(MoneyError);
    expect(() => lineTotal(Number.MAX_SAFE_INTEGER, 2)).toThrow(MoneyError);
    expect(() => sum([Number.MAX_SAFE_INTEGER, 1])).toThrow(MoneyError);
    expect(() => sum([-1])).toThrow(MoneyError);
  });

  it("should find one currency or none", () => {
    expect(commonCurrency(["EUR", "EUR"])).toBe("EUR");
    expect(commonCurrency(["EUR", "USD"])).toBeNull();
    expect(commonCurrency([])).toBeNull();
  });
});

describe("cart rules", () => {
  it("should add to an existing line and keep the latest name and price", () => {
    let items: CartLine[] = addLine([], "p1", lamp, 2);
    items = addLine(items, "p1", { ...lamp, price: 1799 }, 3);
    expect(items).toEqual([{ productId: "p1", name: "Lamp", unitPrice: 1799, currency: "USD", quantity: 5 }]);
  });

  it("should refuse more than 100 units on a line and more than 50 lines, with 422", () => {
    const full = addLine([], "p1", lamp, 100);
    expect(ruleOf(() => addLine(full, "p1", lamp, 1))).toMatchObject({ status: 422 });
    let items: CartLine[] = [];
    for (let i = 0; i < MAX_LINES; i++) items = addLine(items, `p${i}`, lamp, 1);
    const err = ruleOf(() => addLine(items, "one-more", lamp, 1));
    expect(err.status).toBe(422);
    expect(err.data).toEqual([expect.objectContaining({ field: "productId" })]);
  });

  it("should refuse a product in another currency than the cart's", () => {
    const items = addLine([], "p1", lamp, 1);
    expect(ruleOf(() => addLine(items, "p2", { ...desk, currency: "EUR" }, 1)).status).toBe(422);
  });

  it("should set, remove with quantity 0, and answer 404 for a product not in the cart", () => {
    const items = addLine(addLine([], "p1", lamp, 1), "p2", desk, 1);
    expect(setQuantity(items, "p1", 7)[0].quantity).toBe(7);
    expect(setQuantity(items, "p1", 0).map((l) => l.productId)).toEqual(["p2"]);
    expect(removeLine(items, "p2").map((l) => l.productId)).toEqual(["p1"]);
    expect(ruleOf(() => setQuantity(items, "nope", 1))).toMatchObject({ status: 404, type: "NOT_IN_CART" });
    expect(ruleOf(() => removeLine(items, "nope")).status).toBe(404);
  });

  it("should take over a changed price and drop a deleted product when refreshed", () => {
    const items = addLine(addLine([], "p1", lamp, 2), "p2", desk, 1);
    const catalogue = new Map([
      ["p1", { ...lamp, price: 2499 }],
      ["p2", null],
    ]);
    const { items: fresh, changed } = refreshLines(items, catalogue);
    expect(changed).toBe(true);
    expect(fresh).toEqual([{ productId: "p1", name: "Lamp", unitPrice: 2499, currency: "USD", quantity: 2 }]);
    expect(refreshLines(fresh, new Map([["p1", { ...lamp, price: 2499 }]])).changed).toBe(false);
  });

  it("should answer line totals, the subtotal and the currency", () => {
    const doc = {
      ...emptyCart("u1", "2026-01-01T00:00:00.000Z"),
      items: addLine(addLine([], "p1", lamp, 2), "p2", desk, 1),
    };
    expect(cartView(doc)).toEqual({
      items: [
        { productId: "p1", name: "Lamp", unitPrice: 1999, quantity: 2, lineTotal: 3998 },
        { productId: "p2", name: "Desk", unitPrice: 25000, quantity: 1, lineTotal: 25000 },
      ],
      subtotal: 28998,
      currency: "USD",
      updatedAt: "2026-01-01T00:00:00.000Z",
    });
    expect(cartView(emptyCart("u1", "t")).currency).toBe("USD");
  });
});

describe("the order state machine", () => {
  const all: OrderStatus[] = ["pending", "confirmed", "shipped", "delivered", "payment_failed", "cancelled"];
  const allowed = new Set([
    "pending>confirmed",
    "pending>payment_failed",
    "confirmed>shipped",
    "confirmed>cancelled",
    "shipped>delivered",
  ]);

  it("should allow exactly the transitions of API.md and refuse every other with 409", () => {
    for (const from of all)
      for (const to of all) {
        const ok = allowed.has(`${from}>${to}`);
        expect(canTransition(from, to)).toBe(ok);
        if (!ok)
          expect(ruleOf(() => transition({ status: from, history: [] }, to, "t"))).toMatchObject({
            status: 409,
            type: "ILLEGAL_TRANSITION",
            data: { from, to },
          });
      }
    expect(Object.keys(TRANSITIONS).sort()).toEqual([...all].sort());
  });

  it("should append each move to the history without changing the one it was given", () => {
    const history = [{ status: "pending" as const, at: "t0" }];
    const next = transition({ status: "pending", history }, "confirmed", "t1");
    expect(next).toEqual({
      status: "confirmed",
      history: [
        { status: "pending", at: "t0" },
        { status: "confirmed", at: "t1" },
      ],
    });
    expect(history).toHaveLength(1);
  });
});

describe("idempotency keys", () => {
  it("should hash equal bodies equally whatever their key order, and different bodies differently", () => {
    const a = { payment: { token: "tok_visa", method: "card" }, items: [{ productId: "p", quantity: 1 }] };
    const b = { items: [{ quantity: 1, productId: "p" }], payment: { method: "card", token: "tok_visa" } };
    expect(canonicalJson(a)).toBe(canonicalJson(b));
    expect(bodyHash(a)).toBe(bodyHash(b));
    expect(bodyHash({ ...a, items: [{ productId: "p", quantity: 2 }] })).not.toBe(bodyHash(a));
  });

  it("should scope a key to its user and accept 1 to 255 characters", () => {
    expect(keyRecordId("u1", "k")).not.toBe(keyRecordId("u2", "k"));
    expect(keyRecordId("u1", "k")).toBe(keyRecordId("u1", "k"));
    expect(keyRecordId("u1", "a\0b")).not.toBe(keyRecordId("u1\0a", "b"));
    expect(isValidKey("x".repeat(255))).toBe(true);
    expect(isValidKey("x".repeat(256))).toBe(false);
    expect(isValidKey("")).toBe(false);
  });

  it("should replay a finished request, wait for a running one, refuse another body, and free the key after 24 h", () => {
    const rec = newKeyRecord("id", "u1", "h1", "o1", 1000, 30_000);
    expect(decide(rec, "h1", 2000)).toBe("wait");
    expect(decide({ ...rec, state: "done" }, "h1", 2000)).toBe("replay");
    expect(decide(rec, "h2", 2000)).toBe("mismatch");
    expect(decide(rec, "h2", 1000 + KEY_TTL_MS)).toBe("expired");
    expect(decide(rec, "h1", 1000 + KEY_TTL_MS - 1)).toBe("wait");
  });
});

describe("payments", () => {
  it("should approve tok_visa, decline tok_chargeDeclined, and answer a repeated charge the same", async () => {
    const p = new SimulatedProvider();
    const req = { idempotencyKey: "pay_1", amount: 100, currency: "USD" };
    const ok = await p.charge({ ...req, token: "tok_visa" });
    expect(ok.status).toBe("succeeded");
    expect(await p.charge({ ...req, token: "tok_visa" })).toEqual(ok);
    expect(await p.charge({ ...req, idempotencyKey: "pay_2", token: "tok_chargeDeclined" })).toMatchObject({
      status: "failed",
      reason: "card_declined",
    });
  });

  it("should let webhooks only move a payment along its state machine", () => {
    for (const { from, to } of Object.values(WEBHOOK_EFFECTS))
      expect(PAYMENT_TRANSITIONS[from]).toContain(to);
    expect(PAYMENT_TRANSITIONS.refunded).toEqual([]);
  });
});

describe("checkout rules", () => {
  it("should price lines from the catalogue, merging repeated products", () => {
    const lines = mergeLines([
      { productId: "a", quantity: 1 },
      { productId: "b", quantity: 2 },
      { productId: "a", quantity: 2 },
    ]);
    expect(lines).toEqual([
      { productId: "a", quantity: 3 },
      { productId: "b", quantity: 2 },
    ]);
    expect(priceLines(lines, [lamp, desk], "items")).toEqual({
      items: [
        { productId: "a", name: "Lamp", unitPrice: 1999, quantity: 3, lineTotal: 5997 },
        { productId: "b", name: "Desk", unitPrice: 25000, quantity: 2, lineTotal: 50000 },
      ],
      subtotal: 55997,
      currency: "USD",
    });
  });

  it("should refuse an unknown product or mixed currencies with 422 naming the field", () => {
    const lines = [
      { productId: "a", quantity: 1 },
      { productId: "b", quantity: 1 },
    ];
    expect(ruleOf(() => priceLines(lines, [lamp, null], "items")).data).toEqual([
      expect.objectContaining({ field: "items[1].productId" }),
    ]);
    expect(ruleOf(() => priceLines(lines, [lamp, { ...desk, currency: "EUR" }], "cart")).status).toBe(422);
  });

  it("should name every short product: the one refused and any other below its quantity", () => {
    const lines = [
      { productId: "a", quantity: 2 },
      { productId: "b", quantity: 5 },
      { productId: "c", quantity: 1 },
    ];
    const levels = [
      { productId: "a", available: 1, reserved: 0 },
      { productId: "b", available: 3, reserved: 0 },
      { productId: "c", available: 9, reserved: 0 },
    ];
    expect(shortProducts(lines, "a", levels)).toEqual(["a", "b"]);
    expect(shortProducts(lines, "c", [])).toEqual(["a", "b", "c"]);
  });

  it("should answer 201 for a placed order, 402 with the order for a declined one, 409 for a refused one", () => {
    const priced = priceLines([{ productId: "a", quantity: 1 }], [lamp], "items");
    const address = { name: "A", line1: "1 St", city: "C", postalCode: "1", country: "US" };
    const d = newOrder({
      id: "o1",
      userId: "u1",
      priced,
      token: "tok_visa",
      shippingAddress: address,
      fromCart: false,
      nowMs: 0,
      leaseMs: 1000,
    });
    expect(d).toMatchObject({
      status: "pending",
      step: "reserve",
      total: 1999,
      history: [{ status: "pending" }],
    });
    expect(outcome({ ...d, status: "confirmed" })).toMatchObject({ status: 201, body: { id: "o1" } });
    expect(outcome({ ...d, status: "payment_failed" })).toMatchObject({
      status: 402,
      error: { type: "PAYMENT_DECLINED", data: { order: { id: "o1", status: "payment_failed" } } },
    });
    const failure = {
      status: 409 as const,
      type: "INSUFFICIENT_STOCK",
      message: "m",
      data: { productIds: ["a"] },
    };
    expect(outcome({ ...d, hidden: true, failure })).toEqual({
      status: 409,
      error: { message: "m", type: "INSUFFICIENT_STOCK", data: { productIds: ["a"] } },
    });
    expect(JSON.stringify(outcome({ ...d, status: "confirmed" }))).not.toContain("tok_visa");
  });
});

describe("checkout settings", () => {
  const keys = {
    JWT_PRIVATE_KEY: "-----BEGIN PRIVATE KEY-----x",
    JWT_PUBLIC_KEY: "-----BEGIN PUBLIC KEY-----x",
  };

  it("should default the lease to 30 s and leave the webhook secret unset (generated into DATA_DIR) outside production", () => {
    const c = loadConfig({});
    expect(c.checkout).toEqual({
      leaseSeconds: 30,
      paymentWebhookSecret: undefined,
      faultCrashAfterReserve: false,
    });
    expect(loadConfig({ CHECKOUT_LEASE_SECONDS: "5" }).checkout.leaseSeconds).toBe(5);
  });

  it("should refuse a short webhook secret, and require one in production", () => {
    expect(() => loadConfig({ PAYMENT_WEBHOOK_SECRET: "short" })).toThrow(/PAYMENT_WEBHOOK_SECRET/);
    expect(() => loadConfig({ NODE_ENV: "production", ...keys })).toThrow(/PAYMENT_WEBHOOK_SECRET/);
    const secret = "a-production-webhook-secret";
    const prod = loadConfig({ NODE_ENV: "production", ...keys, PAYMENT_WEBHOOK_SECRET: secret });
    expect(prod.checkout.paymentWebhookSecret).toBe(secret);
    expect(() => loadConfig({ CHECKOUT_LEASE_SECONDS: "0" })).toThrow(ConfigError);
  });

  it("should accept the crash fault hook only with NODE_ENV=test", () => {
    expect(
      loadConfig({ NODE_ENV: "test", FAULT_CRASH_AFTER_RESERVE: "1" }).checkout.faultCrashAfterReserve,
    ).toBe(true);
    expect(() => loadConfig({ FAULT_CRASH_AFTER_RESERVE: "1" })).toThrow(/FAULT_CRASH_AFTER_RESERVE/);
  });
});
