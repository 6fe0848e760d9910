import {
  checkOptions,
  checkVariants,
  extendOptions,
  matchesOptions,
  productAvailable,
  productPrice,
  variantTitle,
  type ProductOption,
} from "../../domain/variants";

const SHIRT: ProductOption[] = [
  { name: "Size", values: ["S", "M", "L"] },
  { name: "Color", values: ["Red", "Blue"] },
];
const v = (sku: string, Size: string, Color: string) => ({ sku, options: { Size, Color } });
const fields = (problems: { field: string }[]) => problems.map((p) => p.field);

describe("product options", () => {
  it("should accept up to three options with distinct values", () => {
    expect(checkOptions(SHIRT)).toEqual([]);
  });

  it("should refuse a fourth option", () => {
    const four = ["A", "B", "C", "D"].map((name) => ({ name, values: ["x"] }));
    expect(fields(checkOptions(four))).toEqual(["options"]);
  });

  it("should refuse an option named twice, whatever its case", () => {
    expect(fields(checkOptions([...SHIRT, { name: "size", values: ["XL"] }]))).toEqual(["options[2].name"]);
  });

  it("should refuse a value listed twice and more than 50 values", () => {
    const many = Array.from({ length: 51 }, (_, i) => `v${i}`);
    expect(
      fields(
        checkOptions([
          { name: "Size", values: ["S", "S"] },
          { name: "Fit", values: many },
        ]),
      ),
    ).toEqual(["options[0].values", "options[1].values"]);
  });
});

describe("variants", () => {
  it("should accept variants that each name one listed value of every option", () => {
    expect(checkVariants(SHIRT, [v("S-R", "S", "Red"), v("M-R", "M", "Red")])).toEqual([]);
  });

  it("should name the option of a value that is not listed", () => {
    const problems = checkVariants(SHIRT, [v("A", "S", "Red"), v("B", "S", "Red"), v("C", "XL", "Red")]);
    expect(problems.map((p) => [p.field, p.type])).toEqual([
      ["variants[1].options", "duplicate"],
      ["variants[2].options.Size", "enumValue"],
    ]);
  });

  it("should refuse a variant missing an option or naming one the product lacks", () => {
    const problems = checkVariants(SHIRT, [{ sku: "A", options: { Size: "S", Fit: "Slim" } }]);
    expect(problems.map((p) => [p.field, p.type])).toEqual([
      ["variants[0].options.Color", "required"],
      ["variants[0].options.Fit", "objectStrict"],
    ]);
  });

  it("should refuse one sku given to two variants of the body", () => {
    expect(fields(checkVariants(SHIRT, [v("X", "S", "Red"), v("x", "M", "Red")]))).toEqual([
      "variants[1].sku",
    ]);
  });

  it("should refuse variants on a product without options, and more than 100", () => {
    expect(fields(checkVariants([], [{ sku: "A", options: {} }]))).toEqual(["variants"]);
    const sizes = [{ name: "N", values: Array.from({ length: 50 }, (_, i) => `${i}`) }];
    const colors = [...sizes, { name: "C", values: ["a", "b", "c"] }];
    const many = Array.from({ length: 101 }, (_, i) => ({
      sku: `s${i}`,
      options: { N: `${i % 50}`, C: ["a", "b", "c"][Math.floor(i / 50)] },
    }));
    expect(fields(checkVariants(colors, many))).toEqual(["variants"]);
  });
});

describe("what a product shows of its variants", () => {
  const variants = [
    { options: { Size: "S", Color: "Red" }, price: 1500, active: true, available: 3 },
    { options: { Size: "M", Color: "Red" }, price: 1200, active: false, available: 9 },
    { options: { Size: "M", Color: "Blue" }, price: 1300, active: true, available: 0 },
  ];

  it("should title a variant by its values in option order, or Default", () => {
    expect(variantTitle(SHIRT, { Color: "Red", Size: "M" })).toBe("M / Red");
    expect(variantTitle([], {})).toBe("Default");
  });

  it("should price a product at its lowest active variant, else at the base price", () => {
    expect(productPrice(999, variants)).toBe(1300);
    expect(
      productPrice(
        999,
        variants.map((x) => ({ ...x, active: false })),
      ),
    ).toBe(999);
  });

  it("should count only active variants as available", () => {
    expect(productAvailable(variants)).toBe(3);
  });

  it("should match option filters only on one active variant having every value", () => {
    expect(matchesOptions(variants, { Size: "M", Color: "Blue" })).toBe(true);
    expect(matchesOptions(variants, { Size: "M", Color: "Red" })).toBe(false);
    expect(matchesOptions(variants, { Size: "S", Color: "Blue" })).toBe(false);
  });
});

describe("adding option values later", () => {
  it("should append new values and keep the old ones in order", () => {
    expect(
      extendOptions(SHIRT, [
        { name: "Size", values: ["XL", "S", "M", "L"] },
        { name: "Color", values: ["Red", "Blue"] },
      ]),
    ).toEqual([
      { name: "Size", values: ["S", "M", "L", "XL"] },
      { name: "Color", values: ["Red", "Blue"] },
    ]);
  });

  it("should refuse removing a value or adding an option", () => {
    expect(fields(extendOptions(SHIRT, [{ name: "Size", values: ["S"] }, SHIRT[1]]) as any)).toEqual([
      "options[0].values",
    ]);
    expect(fields(extendOptions(SHIRT, [...SHIRT, { name: "Fit", values: ["Slim"] }]) as any)).toEqual([
      "options[2].name",
      "options",
    ]);
  });
});
