/**
 * Catalogue rules with no broker: list queries built from user input, the sort whitelist, paging
 * math, and the shapes a product takes in responses and events.
 */
import { randomBytes } from "node:crypto";
import type { Product, ProductEventData, ProductSort } from "../contracts";
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from "./paging";

export const DEFAULT_SORT: ProductSort = "-createdAt";
export const PRODUCT_SORTS: readonly ProductSort[] = [
  "price",
  "-price",
  "name",
  "-name",
  "createdAt",
  "-createdAt",
];
export const DEFAULT_CURRENCY = "USD";
export const DEFAULT_CATEGORY = "uncategorized";

/** The stored document: the product plus soft-delete and optimistic-concurrency fields. */
export interface ProductDoc extends Omit<Product, "id" | "available"> {
  _id: string;
  deleted: boolean;
  version: number;
}

export interface ListFilters {
  q?: string;
  category?: string;
  minPrice?: number;
  maxPrice?: number;
}

/** A list request with every default applied: also the cache key of its page. */
export interface ListQuery extends ListFilters {
  page: number;
  pageSize: number;
  sort: ProductSort;
}

/** User text matched literally: every regex metacharacter is escaped, and NUL too (BSON refuses it in a regex). */
export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/\0/g, "\\x00");
}

/** The store query for a list request. Only values of known fields ever reach it. */
export function productQuery(f: ListFilters): Record<string, unknown> {
  const query: Record<string, unknown> = { deleted: false };
  if (f.category !== undefined) query.category = f.category;
  if (f.minPrice !== undefined || f.maxPrice !== undefined) {
    const price: Record<string, number> = {};
    if (f.minPrice !== undefined) price.$gte = f.minPrice;
    if (f.maxPrice !== undefined) price.$lte = f.maxPrice;
    query.price = price;
  }
  if (f.q) {
    const pattern = new RegExp(escapeRegExp(f.q), "i");
    query.$or = [{ name: pattern }, { description: pattern }];
  }
  return query;
}

/** Adapter sort: the whitelisted field, then the id so equal values page stably. */
export function sortSpec(sort: ProductSort): string[] {
  if (!PRODUCT_SORTS.includes(sort)) throw new RangeError(`unknown sort "${sort}"`);
  return [sort, "_id"];
}

/** Defaults applied, pageSize capped (a larger one is not an error), empty text dropped. */
export function normalizeList(p: Partial<ListQuery>): ListQuery {
  const q = p.q?.trim();
  return {
    page: p.page ?? 1,
    pageSize: Math.min(p.pageSize ?? DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE),
    sort: p.sort ?? DEFAULT_SORT,
    ...(q ? { q } : {}),
    ...(p.category !== undefined ? { category: p.category } : {}),
    ...(p.minPrice !== undefined ? { minPrice: p.minPrice } : {}),
    ...(p.maxPrice !== undefined ? { maxPrice: p.maxPrice } : {}),
  };
}

/** One cache entry per distinct list request (user text included, unambiguously). */
export function listCacheKey(q: ListQuery): string {
  return `products.list:${JSON.stringify([q.page, q.pageSize, q.sort, q.q, q.category, q.minPrice, q.maxPrice])}`;
}

export function getCacheKey(id: string): string {
  return `products.get:${id}`;
}

/** A readable, unique-enough SKU for products created without one (the unique index decides). */
export function generateSku(): string {
  return `SKU-${randomBytes(5).toString("hex").toUpperCase()}`;
}

/** A deleted product frees its SKU for a new product. */
export function deletedSku(doc: Pick<ProductDoc, "_id" | "sku">): string {
  return `${doc.sku}~deleted~${doc._id}`;
}

export type CatalogEntry = Omit<Product, "available">;

/** The response shape without `available`, which comes from inventory. */
export function toEntry(doc: ProductDoc): CatalogEntry {
  return {
    id: doc._id,
    sku: doc.sku,
    name: doc.name,
    description: doc.description,
    price: doc.price,
    currency: doc.currency,
    category: doc.category,
    images: doc.images,
    active: doc.active,
    createdAt: doc.createdAt,
    updatedAt: doc.updatedAt,
  };
}

export function withAvailable(entry: CatalogEntry, available: number): Product {
  return { ...entry, available };
}

export function productEventData(doc: ProductDoc): ProductEventData {
  return {
    productId: doc._id,
    sku: doc.sku,
    name: doc.name,
    price: doc.price,
    currency: doc.currency,
    category: doc.category,
    active: doc.active,
  };
}

/** A unique index refused the write (NeDB and MongoDB report it differently). */
export function isDuplicateKey(err: unknown): boolean {
  const e = err as { code?: unknown; errorType?: unknown } | undefined;
  return e?.code === 11000 || e?.errorType === "uniqueViolated";
}
