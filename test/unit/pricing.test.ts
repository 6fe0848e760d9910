import type { Promotion, Region, ShippingOption } from "../../contracts";
import {
  chosenOption,
  computeTotals,
  customerKeyOf,
  priceIn,
  promotionInputProblem,
  promotionProblem,
  roundHalfUp,
  totalsIn,
} from "../../domain/pricing";

const promo = (over: Partial<Promotion> = {}): Promotion => ({
  id: "p1",
  code: "SAVE10",
  type: "percentage",
  value: 10,
  usageCount: 0,
  active: true,
  createdAt: "2026-01-01T00:00:00.000Z",
  updatedAt: "2026-01-01T00:00:00.000Z",
  ...over,
});
const region = (over: Partial<Region> = {}): Region => ({
  id: "eu",
  name: "EU",
  currency: "EUR",
  countries: ["DE", "FR"],
  taxRate: 2000,
  taxInclusive: false,
  createdAt: "",
  updatedAt: "",
  ...over,
});
const option = (over: Partial<ShippingOption> = {}): ShippingOption => ({
  id: "std",
  name: "Standard",
  regionId: "eu",
  amount: 500,
  active: true,
  createdAt: "",
  updatedAt: "",
  ...over,
});

describe("roundHalfUp", () => {
  it.each([
    // a, b, c, expected: floor((2ab + c) / 2c)
    [1000, 10, 100, 100],
    [1999, 15, 100, 300], // 299.85
    [1990, 15, 100, 299], // 298.5 -> 299 (half up)
    [1, 1, 2, 1], // 0.5 -> 1
    [1, 1, 3, 0], // 0.333
    [2, 1, 3, 1], // 0.667
    [333, 2000, 10000, 67], // 66.6
    [125, 2000, 10000, 25],
    [0, 2000, 10000, 0],
  ])("should round %d × %d / %d to %d", (a, b, c, expected) => {
    expect(roundHalfUp(a, b, c)).toBe(expected);
  });

  it("should stay exact where a × b passes 2^53", () => {
    // 9e15 × 10000 / 10000 is 9e15 exactly; a float product would lose the last digits.
    expect(roundHalfUp(9_000_000_000_000_001, 10_000, 10_000)).toBe(9_000_000_000_000_001);
  });

  it("should refuse a fraction or a zero divisor", () => {
    expect(() => roundHalfUp(1.5, 1, 1)).toThrow(RangeError);
    expect(() => roundHalfUp(1, 1, 0)).toThrow(RangeError);
  });
});

describe("computeTotals", () => {
  const none = { promotion: null, shipping: null, taxRate: 0, taxInclusive: false };
  it.each([
    [
      "the default region: the subtotal alone",
      { ...none, subtotal: 1999 },
      { discountTotal: 0, shippingTotal: 0, taxTotal: 0, total: 1999 },
    ],
    [
      "exclusive tax on subtotal plus shipping",
      { ...none, subtotal: 1000, shipping: { amount: 500 }, taxRate: 2000 },
      { discountTotal: 0, shippingTotal: 500, taxTotal: 300, total: 1800 },
    ],
    [
      "a percentage of an odd amount, rounded half up, then exclusive tax rounded",
      { ...none, subtotal: 1995, promotion: { type: "percentage" as const, value: 10 }, taxRate: 1900 },
      // discount 199.5 -> 200; taxable 1795; tax 341.05 -> 341
      { discountTotal: 200, shippingTotal: 0, taxTotal: 341, total: 2136 },
    ],
    [
      "inclusive tax: the total is the taxable amount and the tax is taken out of it",
      { ...none, subtotal: 1200, taxRate: 2000, taxInclusive: true },
      // net = roundHalfUp(1200 × 10000 / 12000) = 1000
      { discountTotal: 0, shippingTotal: 0, taxTotal: 200, total: 1200 },
    ],
    [
      "inclusive tax on an odd amount",
      { ...none, subtotal: 999, shipping: { amount: 1 }, taxRate: 2000, taxInclusive: true },
      // taxable 1000; net = roundHalfUp(1000 × 10000 / 12000) = 833.33 -> 833
      { discountTotal: 0, shippingTotal: 1, taxTotal: 167, total: 1000 },
    ],
    [
      "free shipping above a threshold, judged after the discount",
      {
        ...none,
        subtotal: 5000,
        shipping: { amount: 500, freeAbove: 5000 },
        promotion: { type: "fixed" as const, value: 1 },
      },
      // 4999 < 5000: shipping charged
      { discountTotal: 1, shippingTotal: 500, taxTotal: 0, total: 5499 },
    ],
    [
      "free shipping at exactly the threshold",
      { ...none, subtotal: 5000, shipping: { amount: 500, freeAbove: 5000 } },
      { discountTotal: 0, shippingTotal: 0, taxTotal: 0, total: 5000 },
    ],
    [
      "a fixed discount never above the subtotal",
      {
        ...none,
        subtotal: 300,
        shipping: { amount: 500 },
        promotion: { type: "fixed" as const, value: 1000 },
      },
      { discountTotal: 300, shippingTotal: 500, taxTotal: 0, total: 500 },
    ],
    [
      "a free_shipping code: no discount, no shipping",
      {
        ...none,
        subtotal: 1000,
        shipping: { amount: 500 },
        promotion: { type: "free_shipping" as const, value: 0 },
        taxRate: 1000,
      },
      { discountTotal: 0, shippingTotal: 0, taxTotal: 100, total: 1100 },
    ],
    [
      "100 % off: nothing left to tax but shipping",
      {
        ...none,
        subtotal: 777,
        shipping: { amount: 333 },
        promotion: { type: "percentage" as const, value: 100 },
        taxRate: 2000,
      },
      // taxable 333; tax 66.6 -> 67
      { discountTotal: 777, shippingTotal: 333, taxTotal: 67, total: 400 },
    ],
  ])("should total %s", (_name, input, expected) => {
    expect(computeTotals(input)).toMatchObject(expected);
  });

  it("should charge no shipping and no tax in the default region whatever option is passed", () => {
    expect(totalsIn(null, 1000, option(), null)).toMatchObject({
      shippingTotal: 0,
      taxTotal: 0,
      total: 1000,
    });
  });
});

describe("promotionProblem", () => {
  const cart = { subtotal: 1000, currency: "EUR", nowMs: Date.parse("2026-06-01T00:00:00Z") };
  it.each([
    ["unknown", null, "PROMOTION_UNKNOWN"],
    ["inactive", promo({ active: false }), "PROMOTION_INACTIVE"],
    ["not started", promo({ startsAt: "2026-07-01T00:00:00Z" }), "PROMOTION_NOT_STARTED"],
    ["expired", promo({ endsAt: "2026-06-01T00:00:00Z" }), "PROMOTION_EXPIRED"],
    [
      "a fixed code in another currency",
      promo({ type: "fixed", value: 100, currency: "USD" }),
      "PROMOTION_CURRENCY",
    ],
    ["below its minimum", promo({ minSubtotal: 1001 }), "PROMOTION_MIN_SUBTOTAL"],
    ["used up", promo({ usageLimit: 5, usageCount: 5 }), "PROMOTION_EXHAUSTED"],
    ["applying", promo({ minSubtotal: 1000, usageLimit: 5, usageCount: 4 }), null],
    ["a fixed code in the cart's currency", promo({ type: "fixed", value: 100, currency: "EUR" }), null],
  ])("should say %s", (_name, p, expected) => {
    expect(promotionProblem(p, cart)).toBe(expected);
  });

  it("should leave the usage limit to the checkout's atomic count when asked", () => {
    expect(promotionProblem(promo({ usageLimit: 5, usageCount: 5 }), cart, false)).toBeNull();
  });
});

describe("promotionInputProblem", () => {
  it.each([
    [{ type: "percentage" as const, value: 0 }, "value"],
    [{ type: "percentage" as const, value: 101 }, "value"],
    [{ type: "fixed" as const, value: 100 }, "currency"],
    [{ type: "percentage" as const, value: 10, currency: "EUR" }, "currency"],
    [{ type: "free_shipping" as const, value: 0, startsAt: "2026-02-01", endsAt: "2026-01-01" }, "endsAt"],
  ])("should name the field of %j", (input, field) => {
    expect(promotionInputProblem(input)?.field).toBe(field);
  });

  it("should accept a whole promotion", () => {
    expect(promotionInputProblem({ type: "fixed", value: 500, currency: "EUR" })).toBeNull();
  });
});

describe("prices and customers", () => {
  it("should price a variant in its own currency or from its other prices", () => {
    const v = { price: 1000, currency: "USD", prices: { EUR: 900 } };
    expect([priceIn(v, "USD"), priceIn(v, "EUR"), priceIn(v, "GBP")]).toEqual([1000, 900, null]);
  });

  it("should key a buyer by user id, and a guest by email whatever its case", () => {
    expect(customerKeyOf({ userId: "u1", email: "A@x.test" })).toBe("user:u1");
    expect(customerKeyOf({ userId: null, email: " Ann@Shop.TEST " })).toBe("email:ann@shop.test");
  });
});

describe("chosenOption", () => {
  const eu = region();
  it("should require an option where the region has active ones, only when asked", () => {
    expect(() => chosenOption(eu, [option()], null, undefined, "shippingOptionId", true)).toThrow(
      expect.objectContaining({ type: "SHIPPING_OPTION_REQUIRED" }),
    );
    expect(chosenOption(eu, [option()], null, undefined, "shippingOptionId", false)).toBeNull();
    expect(chosenOption(null, [], null, undefined, "shippingOptionId", true)).toBeNull();
  });

  it("should refuse an option of another region or an inactive one", () => {
    const other = option({ regionId: "us" });
    expect(() => chosenOption(eu, [], other, other.id, "shippingOptionId", true)).toThrow(
      expect.objectContaining({
        type: "SHIPPING_OPTION_REGION",
        data: [expect.objectContaining({ field: "shippingOptionId" })],
      }),
    );
    const off = option({ active: false });
    expect(() => chosenOption(eu, [], off, off.id, "shippingOptionId", true)).toThrow(
      expect.objectContaining({ type: "SHIPPING_OPTION_INACTIVE" }),
    );
  });
});
