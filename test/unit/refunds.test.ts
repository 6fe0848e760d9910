import type { OrderLine } from "../../contracts";
import {
  amountsOf,
  checkRefund,
  mulDivHalfUp,
  refundable,
  returnLines,
  returnRefundAmount,
} from "../../domain/refunds";
import { RuleError } from "../../domain/rule-error";

const ruleOf = (fn: () => unknown): RuleError => {
  try {
    fn();
  } catch (err) {
    return err as RuleError;
  }
  throw new Error("no rule error");
};
const order = (o: Partial<Parameters<typeof amountsOf>[0]> = {}) =>
  amountsOf({ subtotal: 3000, total: 3000, ...o });
const line = (variantId: string, unitPrice: number, quantity: number): OrderLine => ({
  productId: `p_${variantId}`,
  variantId,
  sku: variantId,
  name: variantId,
  variantTitle: "Default",
  unitPrice,
  quantity,
  lineTotal: unitPrice * quantity,
});

describe("integer rounding of refunds (API.md roundHalfUp)", () => {
  it.each([
    [5, 1, 2, 3],
    [4, 1, 3, 1],
    [5, 1, 3, 2],
    [0, 7, 9, 0],
    [300, 2000, 3000, 200],
    [333, 500, 1000, 167],
  ])("should round %i × %i / %i to %i", (a, b, c, want) => {
    expect(mulDivHalfUp(a, b, c)).toBe(want);
  });
});

describe("an order's amounts", () => {
  it("should read an order from before regions and promotions as no discount, no shipping, no tax, nothing refunded", () => {
    expect(amountsOf({ subtotal: 1200, total: 1200 })).toEqual({
      subtotal: 1200,
      total: 1200,
      discountTotal: 0,
      shippingTotal: 0,
      taxTotal: 0,
      taxRate: 0,
      taxInclusive: false,
      refundedTotal: 0,
    });
    expect(refundable(order({ refundedTotal: 700 }))).toBe(2300);
  });
});

describe("the refund of a return: r − discount share (+ tax when net), never shipping, never past what is left", () => {
  it.each([
    ["no discount, no tax", {}, [[1000, 2]], 2000],
    [
      "a 10 % discount: its share of the returned lines",
      { discountTotal: 300, total: 2700 },
      [[1000, 2]],
      1800,
    ],
    [
      "20 % tax on net prices, after the discount",
      { discountTotal: 300, taxRate: 2000, taxTotal: 540, total: 3240 },
      [[1000, 2]],
      2160,
    ],
    [
      "20 % tax included in the prices: no tax on top",
      { discountTotal: 300, taxRate: 2000, taxInclusive: true, taxTotal: 450, total: 2700 },
      [[1000, 2]],
      1800,
    ],
    ["shipping stays with the shop", { shippingTotal: 500, total: 3500 }, [[1000, 3]], 3000],
    ["capped at total − refundedTotal", { refundedTotal: 2500 }, [[1000, 2]], 500],
    ["nothing once fully refunded", { refundedTotal: 3000 }, [[1000, 1]], 0],
    [
      "half up on the share and on the tax",
      { subtotal: 1000, discountTotal: 333, taxRate: 2000, total: 800 },
      [[500, 1]],
      400,
    ],
    ["half up on a tax of exactly .5", { subtotal: 25, taxRate: 1000, total: 28 }, [[25, 1]], 28],
  ] as const)("%s", (_name, o, lines, want) => {
    const returned = lines.map(([unitPrice, quantity]) => ({ unitPrice, quantity }));
    expect(returnRefundAmount(returned, order(o))).toBe(want);
  });
});

describe("refunds a paid order can take", () => {
  it.each(["pending", "payment_failed", "cancelled", "requires_action"] as const)(
    "should refuse a refund of an order in %s with 409 ORDER_NOT_PAID",
    (status) => {
      expect(ruleOf(() => checkRefund(status, order(), 100))).toMatchObject({
        status: 409,
        type: "ORDER_NOT_PAID",
      });
    },
  );

  it.each([
    [3001, 0],
    [301, 2700],
    [1, 3000],
  ])("should refuse %i with %i refunded of 3000 with 422 on amount", (amount, refundedTotal) => {
    const err = ruleOf(() => checkRefund("confirmed", order({ refundedTotal }), amount));
    expect(err.status).toBe(422);
    expect(err.data).toEqual([expect.objectContaining({ field: "amount", type: "refundExceedsTotal" })]);
  });

  it.each(["confirmed", "shipped", "delivered"] as const)(
    "should allow the rest exactly on an order %s",
    (s) => {
      expect(() => checkRefund(s, order({ refundedTotal: 2700 }), 300)).not.toThrow();
    },
  );
});

describe("the lines a return takes back", () => {
  const items = [line("a", 1000, 3), line("b", 500, 1)];

  it("should add up a variant asked twice and price it from the order", () => {
    const got = returnLines(
      items,
      [
        { variantId: "a", quantity: 1 },
        { variantId: "a", quantity: 2 },
      ],
      [],
    );
    expect(got).toEqual({
      lines: [{ variantId: "a", quantity: 3 }],
      priced: [{ unitPrice: 1000, quantity: 3 }],
    });
  });

  it("should refuse more than ordered minus already returned with 422 naming the line", () => {
    const err = ruleOf(() =>
      returnLines(
        items,
        [
          { variantId: "b", quantity: 1 },
          { variantId: "a", quantity: 2 },
        ],
        [{ variantId: "a", quantity: 2 }],
      ),
    );
    expect(err).toMatchObject({
      status: 422,
      data: [{ field: "items[1].quantity", type: "returnExceedsOrdered" }],
    });
  });

  it("should refuse a variant the order does not hold with 422 on its variantId", () => {
    const err = ruleOf(() => returnLines(items, [{ variantId: "zzz", quantity: 1 }], []));
    expect(err).toMatchObject({ status: 422, data: [{ field: "items[0].variantId", type: "notInOrder" }] });
  });
});
