import {
  CoPurchaseModel,
  HISTORY_CAP,
  cosine,
  fillWith,
  forCustomer,
  hitAt,
  ndcgAt,
  newPurchases,
  pairKey,
  popular,
  similarTo,
} from "../../domain/recommendations";
import { evaluate } from "../../bench/recommendations-eval";

describe("item-to-item similarity", () => {
  it.each([
    [2, 2, 2, 1],
    [1, 4, 1, 0.5],
    [1, 2, 8, 0.25],
    [0, 3, 3, 0],
    [1, 0, 3, 0],
  ])("should give cosine(%d common, %d, %d buyers) = %d", (common, a, b, expected) => {
    expect(cosine(common, a, b)).toBeCloseTo(expected, 10);
  });

  it("should store a pair once, the smaller id first", () => {
    expect(pairKey("b", "a")).toEqual(["a", "b"]);
    expect(pairKey("a", "b")).toEqual(["a", "b"]);
  });

  it("should pair only the products new to the customer, with everything they have", () => {
    expect(newPurchases(["a", "b"], ["b", "c", "c"])).toEqual({
      items: ["c"],
      pairs: [
        ["a", "c"],
        ["b", "c"],
      ],
    });
    expect(newPurchases([], ["x", "y"]).pairs).toEqual([["x", "y"]]);
    expect(newPurchases(["a"], ["a"])).toEqual({ items: [], pairs: [] });
  });

  it("should pair a new product with at most HISTORY_CAP earlier ones, the newest", () => {
    const before = Array.from({ length: HISTORY_CAP + 10 }, (_, i) => `p${i}`);
    const { pairs } = newPurchases(before, ["new"]);
    expect(pairs).toHaveLength(HISTORY_CAP);
    expect(pairs.flat()).not.toContain("p0");
    expect(pairs.flat()).toContain(`p${HISTORY_CAP + 9}`);
  });

  it("should rank by cosine, not by raw co-occurrence, leaving out the product itself and the excluded", () => {
    const buyers: Record<string, number> = { x: 10, popular: 100, niche: 3, gone: 5 };
    const ranked = similarTo(
      "x",
      [
        { other: "popular", common: 6 }, // 6 / sqrt(1000) = 0.19
        { other: "niche", common: 3 }, // 3 / sqrt(30) = 0.55
        { other: "x", common: 10 },
        { other: "gone", common: 5 },
      ],
      (id) => buyers[id] ?? 0,
      new Set(["gone"]),
    );
    expect(ranked.map((s) => s.productId)).toEqual(["niche", "popular"]);
  });

  it("should sum a customer's similarities and never list what they bought", () => {
    const pairs: Record<string, { other: string; common: number }[]> = {
      a: [
        { other: "b", common: 1 },
        { other: "c", common: 1 },
      ],
      b: [
        { other: "a", common: 1 },
        { other: "c", common: 1 },
      ],
    };
    const list = forCustomer(
      ["a", "b"],
      (id) => pairs[id] ?? [],
      () => 1,
    );
    expect(list).toEqual([{ productId: "c", score: 2 }]);
  });

  it("should fill with popularity, each product once, ties by id", () => {
    const ranked = popular(
      [
        ["b", 3],
        ["a", 3],
        ["c", 9],
        ["d", 1],
      ],
      new Set(["d"]),
    ).map((s) => s.productId);
    expect(ranked).toEqual(["c", "a", "b"]);
    expect(fillWith(["x", "c"], ranked, 3)).toEqual(["x", "c", "a"]);
  });
});

describe("the co-purchase model, one order at a time", () => {
  it("should count a redelivered event once", () => {
    const m = new CoPurchaseModel();
    expect(m.add("e1", "u1", ["a", "b"])).toBe(true);
    expect(m.add("e1", "u1", ["a", "b"])).toBe(false);
    expect(m.buyers("a")).toBe(1);
    expect(m.coPurchasesOf("a")).toEqual([{ other: "b", common: 1 }]);
  });

  it("should count customers, not orders: a second order of the same products changes nothing", () => {
    const m = new CoPurchaseModel();
    m.add("e1", "u1", ["a", "b"]);
    m.add("e2", "u1", ["a", "b"]);
    m.add("e3", "u2", ["a"]);
    expect(m.buyers("a")).toBe(2);
    expect(m.coPurchasesOf("b")).toEqual([{ other: "a", common: 1 }]);
  });

  it("should relate products a customer bought in different orders", () => {
    const m = new CoPurchaseModel();
    m.add("e1", "u1", ["camera"]);
    m.add("e2", "u1", ["lens"]);
    m.add("e3", "u2", ["camera"]);
    expect(m.similar("camera")).toEqual(["lens"]);
    expect(m.forCustomer("u2")).toEqual(["lens"]);
    expect(m.forCustomer("u1")).toEqual([]);
    expect(m.popular(10, new Set(m.bought("u1")))).toEqual([]);
  });
});

describe("offline evaluation measures", () => {
  it("should score a hit when any held-out product is in the first k", () => {
    expect(hitAt(["a", "b", "c"], new Set(["c"]), 3)).toBe(1);
    expect(hitAt(["a", "b", "c"], new Set(["c"]), 2)).toBe(0);
  });

  it("should give NDCG 1 for the ideal order and less when the hit is lower", () => {
    expect(ndcgAt(["a", "b"], new Set(["a"]), 10)).toBe(1);
    expect(ndcgAt(["x", "a"], new Set(["a"]), 10)).toBeCloseTo(1 / Math.log2(3), 10);
    expect(ndcgAt(["x", "y"], new Set(["a"]), 10)).toBe(0);
    expect(ndcgAt(["a", "x", "b"], new Set(["a", "b"]), 10)).toBeCloseTo(
      (1 + 1 / Math.log2(4)) / (1 + 1 / Math.log2(3)),
      10,
    );
  });

  it("should beat the popularity baseline on the planted structure, the same on every run", () => {
    const r = evaluate(42, 300);
    expect(r.model.hitRate).toBeGreaterThan(r.popular.hitRate);
    expect(r.model.ndcg).toBeGreaterThan(r.popular.ndcg);
    expect(evaluate(42, 300)).toEqual(r);
  });
});
