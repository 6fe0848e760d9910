/**
 * Item-to-item collaborative filtering (Linden, Smith and York, "Amazon.com recommendations:
 * item-to-item collaborative filtering", 2003): each product is a binary vector over the
 * customers who bought it; two products are similar by the cosine of their vectors,
 * |buyers(a) ∩ buyers(b)| / sqrt(|buyers(a)| · |buyers(b)|). A customer's list sums the
 * similarities of the products they bought. Popularity (in the product's category, or overall)
 * fills what the co-purchases cannot.
 *
 * No broker here: the service keeps the counts in its collection, the offline evaluation
 * (bench/recommendations-eval.ts) in the in-memory model below; both rank with the same functions.
 */

/** At most this many products in a list (API.md). */
export const MAX_RECOMMENDATIONS = 12;
/** A customer's co-purchases are counted against at most this many of their earlier products. */
export const HISTORY_CAP = 50;

export type Strategy = "bought_together" | "popular_in_category" | "for_you" | "popular";

/** Cosine of two binary customer vectors with `common` customers in both. */
export function cosine(common: number, buyersA: number, buyersB: number): number {
  if (common <= 0 || buyersA <= 0 || buyersB <= 0) return 0;
  return common / Math.sqrt(buyersA * buyersB);
}

/** An unordered product pair, stored once: the smaller id first. */
export function pairKey(a: string, b: string): [string, string] {
  return a < b ? [a, b] : [b, a];
}

/**
 * The distinct products of an order the customer had not bought before, and the pairs they add:
 * each such product with every other product of the customer (earlier ones, capped, and the
 * order's own). Pairs of two earlier products already count this customer.
 */
export function newPurchases(
  before: readonly string[],
  bought: readonly string[],
): { items: string[]; pairs: [string, string][] } {
  const known = new Set(before);
  const items = [...new Set(bought)].filter((p) => !known.has(p));
  const others = [...before.slice(-HISTORY_CAP), ...items];
  const pairs = new Map<string, [string, string]>();
  for (const item of items)
    for (const other of others) {
      if (other === item) continue;
      const pair = pairKey(item, other);
      pairs.set(pair.join("\u0000"), pair);
    }
  return { items, pairs: [...pairs.values()] };
}

/** One co-purchase of `of`: the other product and how many customers bought both. */
export interface CoPurchase {
  other: string;
  common: number;
}

export interface Scored {
  productId: string;
  score: number;
}

/** Highest score first; ties by id, so a list is the same on every node and every run. */
const byScore = (x: Scored, y: Scored) => y.score - x.score || (x.productId < y.productId ? -1 : 1);

/**
 * Products bought with `of`, most similar first, `excluded` (the product itself, what the
 * caller must not show) left out.
 */
export function similarTo(
  of: string,
  coPurchases: readonly CoPurchase[],
  buyers: (productId: string) => number,
  excluded: ReadonlySet<string> = new Set(),
): Scored[] {
  const n = buyers(of);
  return coPurchases
    .filter((c) => c.other !== of && !excluded.has(c.other))
    .map((c) => ({ productId: c.other, score: cosine(c.common, n, buyers(c.other)) }))
    .filter((s) => s.score > 0)
    .sort(byScore);
}

/**
 * A customer's list: for every product they bought, its co-purchases, each candidate scored by
 * the sum of its similarities to the customer's products; none they bought.
 */
export function forCustomer(
  bought: readonly string[],
  coPurchasesOf: (productId: string) => readonly CoPurchase[],
  buyers: (productId: string) => number,
): Scored[] {
  const mine = new Set(bought);
  const total = new Map<string, number>();
  for (const item of mine)
    for (const s of similarTo(item, coPurchasesOf(item), buyers, mine))
      total.set(s.productId, (total.get(s.productId) ?? 0) + s.score);
  return [...total].map(([productId, score]) => ({ productId, score })).sort(byScore);
}

/** Most-bought first, `excluded` left out: the fallback. */
export function popular(
  counts: Iterable<readonly [string, number]>,
  excluded: ReadonlySet<string> = new Set(),
): Scored[] {
  return [...counts]
    .filter(([id]) => !excluded.has(id))
    .map(([productId, score]) => ({ productId, score }))
    .sort(byScore);
}

/** The model's picks first, then the fallback's, each product once, at most `limit`. */
export function fillWith(first: readonly string[], fallback: readonly string[], limit: number): string[] {
  return [...new Set([...first, ...fallback])].slice(0, limit);
}

/**
 * The whole model in memory, updated one order at a time (the offline evaluation and the unit
 * tests; the service keeps the same counts in its collection).
 */
export class CoPurchaseModel {
  private readonly buyersOf = new Map<string, Set<string>>();
  private readonly pairs = new Map<string, Map<string, Set<string>>>();
  private readonly history = new Map<string, string[]>();
  private readonly seen = new Set<string>();

  /** Counts an order once per `eventId`; false when that event was counted already. */
  add(eventId: string, customer: string, products: readonly string[]): boolean {
    if (this.seen.has(eventId)) return false;
    this.seen.add(eventId);
    const before = this.history.get(customer) ?? [];
    const { items, pairs } = newPurchases(before, products);
    for (const item of items) {
      if (!this.buyersOf.has(item)) this.buyersOf.set(item, new Set());
      this.buyersOf.get(item)!.add(customer);
    }
    for (const [a, b] of pairs) {
      for (const [x, y] of [
        [a, b],
        [b, a],
      ]) {
        if (!this.pairs.has(x)) this.pairs.set(x, new Map());
        const row = this.pairs.get(x)!;
        if (!row.has(y)) row.set(y, new Set());
        row.get(y)!.add(customer);
      }
    }
    this.history.set(customer, [...before, ...items]);
    return true;
  }

  buyers = (productId: string): number => this.buyersOf.get(productId)?.size ?? 0;

  coPurchasesOf = (productId: string): CoPurchase[] =>
    [...(this.pairs.get(productId) ?? new Map<string, Set<string>>())].map(([other, who]) => ({
      other,
      common: who.size,
    }));

  bought(customer: string): string[] {
    return this.history.get(customer) ?? [];
  }

  similar(productId: string, limit = MAX_RECOMMENDATIONS): string[] {
    return similarTo(productId, this.coPurchasesOf(productId), this.buyers)
      .slice(0, limit)
      .map((s) => s.productId);
  }

  forCustomer(customer: string, limit = MAX_RECOMMENDATIONS): string[] {
    return forCustomer(this.bought(customer), this.coPurchasesOf, this.buyers)
      .slice(0, limit)
      .map((s) => s.productId);
  }

  /** Most-bought products overall, none of `excluded`. */
  popular(limit = MAX_RECOMMENDATIONS, excluded: ReadonlySet<string> = new Set()): string[] {
    return popular(
      [...this.buyersOf].map(([id, who]) => [id, who.size] as const),
      excluded,
    )
      .slice(0, limit)
      .map((s) => s.productId);
  }
}

// ---- offline evaluation ----

/** 1 when any held-out product is in the first k recommended, else 0. */
export function hitAt(recommended: readonly string[], heldOut: ReadonlySet<string>, k: number): number {
  return recommended.slice(0, k).some((p) => heldOut.has(p)) ? 1 : 0;
}

/** Normalised discounted cumulative gain at k with binary relevance. */
export function ndcgAt(recommended: readonly string[], heldOut: ReadonlySet<string>, k: number): number {
  let dcg = 0;
  recommended.slice(0, k).forEach((p, i) => {
    if (heldOut.has(p)) dcg += 1 / Math.log2(i + 2);
  });
  let ideal = 0;
  for (let i = 0; i < Math.min(k, heldOut.size); i++) ideal += 1 / Math.log2(i + 2);
  return ideal ? dcg / ideal : 0;
}
