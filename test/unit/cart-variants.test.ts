/** Cart and checkout rules per variant (API.md "Variants and options"), with no broker. */
import {
  addLine,
  cartView,
  emptyCart,
  normalizeLine,
  refreshLines,
  removeOrdered,
  resolveVariant,
  setQuantity,
  type CartLine,
} from "../../domain/cart";
import { mergeResolved, priceLines, reservationLines, shortageData } from "../../domain/checkout";
import { isOwnVariant, lowStockData, productLevel, stockIdToSet } from "../../domain/inventory";
import { RuleError } from "../../domain/rule-error";
import { lookupOf, simpleProduct, variantFrom, variantProduct } from "../support/catalogue";

const shirt = variantProduct("shirt", "Shirt", [
  { title: "M / Red", price: 2000 },
  { title: "L / Red", price: 2200 },
  { title: "L / Blue", price: 2200, active: false },
]);
const mug = simpleProduct("mug", "Mug", 900);
const lookup = lookupOf(shirt, mug);
const missing = (field: string, id: string) => new RuleError(404, "NOT_FOUND", "gone", { [field]: id });
const resolve = (line: { productId?: string; variantId?: string }) =>
  resolveVariant(line, lookup, "items[0].", missing);
const fieldsOf = async (p: Promise<unknown>) => ((await p.catch((e) => e)) as RuleError).data;

describe("which variant a requested line names", () => {
  it("should take the variant named by variantId alone", async () => {
    expect(await resolve({ variantId: "shirt-1" })).toMatchObject({
      productId: "shirt",
      variantId: "shirt-1",
      sku: "SHIRT-1",
      variantTitle: "L / Red",
      price: 2200,
    });
  });

  it("should take a single-variant product's one variant from productId alone", async () => {
    expect(await resolve({ productId: "mug" })).toMatchObject({
      productId: "mug",
      variantId: "mug",
      price: 900,
    });
  });

  it("should refuse productId alone for a product with several variants, on variantId", async () => {
    expect(await fieldsOf(resolve({ productId: "shirt" }))).toEqual([
      expect.objectContaining({ field: "items[0].variantId", type: "variantRequired" }),
    ]);
  });

  it("should refuse a variant of another product than the productId given", async () => {
    expect(await fieldsOf(resolve({ productId: "mug", variantId: "shirt-0" }))).toEqual([
      expect.objectContaining({ field: "items[0].variantId", type: "variantMismatch" }),
    ]);
  });

  it("should refuse an inactive variant with 422 on variantId", async () => {
    expect(await fieldsOf(resolve({ variantId: "shirt-2" }))).toEqual([
      expect.objectContaining({ field: "items[0].variantId", type: "variantInactive" }),
    ]);
  });

  it("should refuse a line naming neither productId nor variantId", async () => {
    expect(await fieldsOf(resolve({}))).toEqual([expect.objectContaining({ field: "items[0].variantId" })]);
  });

  it("should refuse an unknown variant the way the caller says", async () => {
    expect(await fieldsOf(resolve({ variantId: "nope" }))).toEqual({ variantId: "nope" });
  });
});

describe("cart lines per variant", () => {
  const m = variantFrom(shirt, "shirt-0");
  const l = variantFrom(shirt, "shirt-1");

  it("should keep one line per variant of the same product", () => {
    const items = addLine(addLine(addLine([], m, 1), l, 2), m, 3);
    expect(items.map((x) => [x.productId, x.variantId, x.variantTitle, x.quantity])).toEqual([
      ["shirt", "shirt-0", "M / Red", 4],
      ["shirt", "shirt-1", "L / Red", 2],
    ]);
  });

  it("should change and remove a line by its variant id", () => {
    const items = addLine(addLine([], m, 1), l, 2);
    expect(setQuantity(items, "shirt-1", 5).map((x) => x.quantity)).toEqual([1, 5]);
    expect(setQuantity(items, "shirt-0", 0).map((x) => x.variantId)).toEqual(["shirt-1"]);
  });

  it("should show a line whose variant became inactive as unavailable, outside the subtotal", () => {
    const items = addLine(addLine([], m, 1), l, 2);
    const deactivated = {
      ...shirt,
      variants: shirt.variants.map((v) => (v.id === "shirt-1" ? { ...v, active: false } : v)),
    };
    const fresh = refreshLines(items, new Map([["shirt", deactivated]]));
    const cart = cartView({ items: fresh.items, updatedAt: "t" }, fresh.unavailable);
    expect(cart.items.map((x) => [x.variantId, x.unavailable])).toEqual([
      ["shirt-0", false],
      ["shirt-1", true],
    ]);
    expect(cart.subtotal).toBe(2000);
  });

  it("should show a line whose variant was removed as unavailable", () => {
    const items = addLine([], l, 1);
    const without = { ...shirt, variants: shirt.variants.filter((v) => v.id !== "shirt-1") };
    expect(refreshLines(items, new Map([["shirt", without]])).unavailable).toEqual(new Set(["shirt-1"]));
  });

  it("should read a line stored before variants as its product's default variant", () => {
    const old = { productId: "mug", name: "Mug", unitPrice: 900, currency: "USD", quantity: 2 };
    const line = normalizeLine(old);
    expect(line.variantId).toBe("mug");
    const fresh = refreshLines([line], new Map([["mug", mug]]));
    expect(fresh).toMatchObject({ changed: true, unavailable: new Set() });
    expect(fresh.items[0]).toMatchObject({ variantId: "mug", sku: "MUG-SKU", variantTitle: "Default" });
  });

  it("should take an order's quantities out of the ordered variant's line only", () => {
    const items: CartLine[] = addLine(addLine([], m, 3), l, 2);
    const after = removeOrdered(items, [{ productId: "shirt", variantId: "shirt-0", quantity: 3 }]);
    expect(after.map((x) => [x.variantId, x.quantity])).toEqual([["shirt-1", 2]]);
  });

  it("should answer an empty cart with no unavailable lines", () => {
    expect(cartView(emptyCart("u", "t")).items).toEqual([]);
  });
});

describe("order lines per variant", () => {
  const m = variantFrom(shirt, "shirt-0");
  const l = variantFrom(shirt, "shirt-1");

  it("should merge a variant asked twice and price each variant at its own price", () => {
    const priced = priceLines(
      mergeResolved([
        { variant: m, quantity: 1 },
        { variant: l, quantity: 1 },
        { variant: m, quantity: 2 },
      ]),
      "items",
    );
    expect(priced.items).toEqual([
      {
        productId: "shirt",
        variantId: "shirt-0",
        sku: "SHIRT-0",
        name: "Shirt",
        variantTitle: "M / Red",
        unitPrice: 2000,
        quantity: 3,
        lineTotal: 6000,
      },
      {
        productId: "shirt",
        variantId: "shirt-1",
        sku: "SHIRT-1",
        name: "Shirt",
        variantTitle: "L / Red",
        unitPrice: 2200,
        quantity: 1,
        lineTotal: 2200,
      },
    ]);
    expect(priced.subtotal).toBe(8200);
  });

  it("should reserve each line under its variant id (a line stored before variants: its product id)", () => {
    const { items } = priceLines([{ variant: l, quantity: 2 }], "items");
    const old = { productId: "mug", name: "Mug", unitPrice: 900, quantity: 1, lineTotal: 900 } as any;
    expect(reservationLines([...items, old])).toEqual([
      { productId: "shirt-1", quantity: 2 },
      { productId: "mug", quantity: 1 },
    ]);
  });

  it("should list the short lines' products once and their variants in a 409", () => {
    const { items } = priceLines(
      [
        { variant: m, quantity: 1 },
        { variant: l, quantity: 1 },
      ],
      "items",
    );
    expect(shortageData(items, ["shirt-0", "shirt-1"])).toEqual({
      productIds: ["shirt"],
      variantIds: ["shirt-0", "shirt-1"],
    });
  });
});

describe("stock levels of a product with variants", () => {
  it("should sum its variants' levels and list each", () => {
    const docs = [
      {
        _id: "shirt-0",
        kind: "stock" as const,
        productId: "shirt-0",
        available: 5,
        reserved: 1,
        deleted: false,
      },
      {
        _id: "shirt-1",
        kind: "stock" as const,
        productId: "shirt-1",
        available: 3,
        reserved: 0,
        deleted: false,
      },
    ];
    expect(productLevel(shirt, docs)).toEqual({
      productId: "shirt",
      available: 8,
      reserved: 1,
      variants: [
        { variantId: "shirt-0", sku: "SHIRT-0", available: 5, reserved: 1 },
        { variantId: "shirt-1", sku: "SHIRT-1", available: 3, reserved: 0 },
        { variantId: "shirt-2", sku: "SHIRT-2", available: 0, reserved: 0 },
      ],
    });
  });

  it("should set a single-variant product's one variant and refuse a product with several", () => {
    expect(isOwnVariant(mug)).toBe(true);
    expect(stockIdToSet("mug", mug)).toBe("mug");
    expect(stockIdToSet("shirt-1", null)).toBe("shirt-1");
    expect(() => stockIdToSet("shirt", shirt)).toThrow(RuleError);
  });

  it("should name the variant and, once known, its product in inventory.low", () => {
    expect(lowStockData({ _id: "shirt-0", ownerId: "shirt" }, 2, 5)).toEqual({
      productId: "shirt",
      variantId: "shirt-0",
      available: 2,
      threshold: 5,
    });
    expect(lowStockData({ _id: "mug" }, 2, 5)).toMatchObject({ productId: "mug", variantId: "mug" });
  });
});
