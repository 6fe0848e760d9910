/**
 * Facet counts over a filtered set of products (GET /api/products/facets), in one pass over the
 * matching documents' few facet fields: a category counts each product once, an option value
 * each product that has an active variant with it; the price range is over the shown prices.
 */
import type { ProductDoc } from "./catalog";
import { variantsOf } from "./catalog";

export interface FacetCount {
  value: string;
  count: number;
}

export interface Facets {
  categories: FacetCount[];
  options: Record<string, FacetCount[]>;
  price: { min: number | null; max: number | null };
}

/** The fields facets read: the store returns only these. */
export const FACET_FIELDS = { category: 1, price: 1, options: 1, variants: 1, sku: 1 } as const;

type FacetDoc = Pick<ProductDoc, "_id" | "category" | "price" | "options" | "variants" | "sku">;

/** Most frequent first, then by value, so the answer is the same for the same data. */
function sorted(counts: Map<string, number>): FacetCount[] {
  return [...counts]
    .map(([value, count]) => ({ value, count }))
    .sort((a, b) => b.count - a.count || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
}

export function countFacets(docs: FacetDoc[]): Facets {
  const categories = new Map<string, number>();
  const options = new Map<string, Map<string, number>>();
  let min: number | null = null;
  let max: number | null = null;
  for (const doc of docs) {
    categories.set(doc.category, (categories.get(doc.category) ?? 0) + 1);
    min = min === null ? doc.price : Math.min(min, doc.price);
    max = max === null ? doc.price : Math.max(max, doc.price);
    const active = variantsOf(doc as ProductDoc).filter((v) => v.active);
    for (const o of doc.options ?? []) {
      const values = new Set(active.map((v) => v.options[o.name]).filter((v) => v !== undefined));
      let counts = options.get(o.name);
      if (!counts) options.set(o.name, (counts = new Map()));
      for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
    }
  }
  return {
    categories: sorted(categories),
    options: Object.fromEntries([...options].map(([name, counts]) => [name, sorted(counts)])),
    price: { min, max },
  };
}
