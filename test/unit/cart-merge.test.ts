import type { CartLine } from "../../domain/cart";
import { carriedChoices, mergeLines, rememberMerge, REMEMBERED_MERGES } from "../../domain/cart-merge";

const line = (variantId: string, quantity: number, currency = "USD"): CartLine => ({
  productId: `p-${variantId}`,
  variantId,
  sku: `SKU-${variantId}`,
  name: `Product ${variantId}`,
  variantTitle: "Default",
  unitPrice: 1000,
  currency,
  quantity,
});
const quantities = (items: CartLine[]) => items.map((l) => [l.variantId, l.quantity]);

describe("merging a guest cart into a user's cart", () => {
  it.each([
    ["adds the quantities of a variant in both", [line("a", 2)], [line("a", 3)], [["a", 5]]],
    ["caps a merged line at 100", [line("a", 60)], [line("a", 70)], [["a", 100]]],
    [
      "appends a variant only the guest had",
      [line("a", 1)],
      [line("b", 4)],
      [
        ["a", 1],
        ["b", 4],
      ],
    ],
    [
      "takes the guest's lines into an empty cart",
      [],
      [line("b", 4), line("c", 1)],
      [
        ["b", 4],
        ["c", 1],
      ],
    ],
    ["keeps the user's cart as it is when the guest's is empty", [line("a", 2)], [], [["a", 2]]],
  ])("should %s", (_what, user, guest, expected) => {
    expect(quantities(mergeLines(user, guest).items)).toEqual(expected);
  });

  it("should drop a guest line in another currency than the user's cart and say so", () => {
    const { items, dropped } = mergeLines([line("a", 1)], [line("e", 1, "EUR")]);
    expect(quantities(items)).toEqual([["a", 1]]);
    expect(quantities(dropped)).toEqual([["e", 1]]);
  });

  it("should drop guest lines past the 50 lines a cart holds", () => {
    const user = Array.from({ length: 50 }, (_, i) => line(`u${i}`, 1));
    const { items, dropped } = mergeLines(user, [line("u0", 1), line("new", 1)]);
    expect(items).toHaveLength(50);
    expect(items[0].quantity).toBe(2);
    expect(quantities(dropped)).toEqual([["new", 1]]);
  });

  it("should not change the user's lines it was given", () => {
    const user = [line("a", 1)];
    mergeLines(user, [line("a", 1)]);
    expect(user[0].quantity).toBe(1);
  });

  it.each([
    [
      "take region, option and promotion into a cart with none",
      {},
      { regionId: "eu", shippingOptionId: "s1", promotionCode: "X" },
      { regionId: "eu", shippingOptionId: "s1", promotionCode: "X" },
    ],
    [
      "keep the user's region (and not take the guest's option)",
      { regionId: "us" },
      { regionId: "eu", shippingOptionId: "s1" },
      {},
    ],
    ["keep the user's promotion", { promotionCode: "MINE" }, { promotionCode: "X" }, {}],
    [
      "take the promotion though the user has a region",
      { regionId: "us" },
      { promotionCode: "X" },
      { promotionCode: "X" },
    ],
    ["take nothing the guest has not", { regionId: null }, { regionId: null }, {}],
  ])("should %s", (_what, user, guest, expected) => {
    expect(carriedChoices(user, guest)).toEqual(expected);
  });

  it("should remember the latest merged carts only", () => {
    let remembered: string[] | undefined;
    for (let i = 0; i < REMEMBERED_MERGES + 5; i++) remembered = rememberMerge(remembered, `g${i}`);
    expect(remembered).toHaveLength(REMEMBERED_MERGES);
    expect(remembered!.at(-1)).toBe(`g${REMEMBERED_MERGES + 4}`);
  });
});
