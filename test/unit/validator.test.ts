import { ParamsValidator } from "../../lib/validator";

const check: any = new ParamsValidator().compile({
  $$strict: true,
  password: { type: "string", min: 8, max: 10 },
  name: { type: "string", trim: true, min: 1, max: 5, optional: true },
  phone: { type: "string", optional: true, nullable: true },
  notifications: { type: "object", optional: true, props: { sms: { type: "boolean", optional: true } } },
  tags: "string[]|optional",
});
const errors = (params: Record<string, unknown>) => {
  const r = check(params);
  return r === true ? [] : r.map((e: any) => `${e.field}:${e.type}`);
};

describe("ParamsValidator", () => {
  it("rejects null where a field is optional but not nullable, at any depth", () => {
    expect(errors({ password: "12345678", name: null })).toEqual(["name:required"]);
    expect(errors({ password: "12345678", notifications: null })).toEqual(["notifications:required"]);
    expect(errors({ password: "12345678", notifications: { sms: null } })).toEqual([
      "notifications.sms:required",
    ]);
    expect(errors({ password: "12345678", tags: ["a", null] })).toEqual([
      expect.stringMatching(/^tags.*:required$/),
    ]);
    expect(errors({ password: null })).toEqual(["password:required"]);
  });

  it("lets null through a nullable field, and absent optional fields stay absent", () => {
    const params = { password: "12345678", phone: null };
    expect(errors(params)).toEqual([]);
    expect(Object.keys(params)).toEqual(["password", "phone"]);
  });

  it("counts characters, not UTF-16 units", () => {
    expect(errors({ password: "😀".repeat(7) })).toEqual(["password:stringMin"]);
    expect(check({ password: "😀".repeat(7) })[0].message).toBe(
      "The 'password' field length must be greater than or equal to 8 characters long.",
    );
    expect(errors({ password: "😀".repeat(8) })).toEqual([]);
    expect(errors({ password: "😀".repeat(10) })).toEqual([]);
    expect(errors({ password: "😀".repeat(11) })).toEqual(["password:stringMax"]);
  });

  it("trims, requires min characters after trimming, and caps what was sent", () => {
    const params: Record<string, unknown> = { password: "12345678", name: "  ab  " };
    expect(errors({ ...params, name: "  ab " })).toEqual([]);
    expect(errors(params)).toEqual(["name:stringMax"]);
    const ok: Record<string, unknown> = { password: "12345678", name: " ab " };
    expect(errors(ok)).toEqual([]);
    expect(ok.name).toBe("ab");
    expect(errors({ password: "12345678", name: " \t " })).toEqual(["name:stringMin"]);
  });

  it("converts only decimal numerals to numbers", () => {
    const page: any = new ParamsValidator().compile({
      page: { type: "number", integer: true, convert: true, optional: true },
    });
    for (const ok of ["2", "-3", "4.0"]) expect([ok, page({ page: ok })]).toEqual([ok, true]);
    for (const bad of ["", " ", "0x10", "1e3", "Infinity", "2 "])
      expect([bad, page({ page: bad })]).toEqual([bad, [expect.objectContaining({ type: "number" })]]);
  });
});
