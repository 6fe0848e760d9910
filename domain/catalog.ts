/**
 * Catalogue rules with no broker: list queries built from user input, the sort whitelist, paging
 * math, and the shapes a product takes in responses and events.
 */
import { randomBytes } from "node:crypto";
import type { Product, ProductEventData, ProductOption, ProductSort, Variant } from "../contracts";
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from "./paging";
import { productAvailable, productPrice, variantTitle } from "./variants";

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

/** A variant as stored inside its product; no `price` means the product's base price. */
export interface VariantDoc {
  id: string;
  sku: string;
  options: Record<string, string>;
  price?: number;
  prices?: Record<string, number>;
  active: boolean;
}

/**
 * The stored document: the product plus soft-delete and optimistic-concurrency fields. `price`
 * is the shown (lowest active variant) price, so filters and sorts read one field; `basePrice`
 * what variants without a price of their own take. `skus` holds every SKU of the product and
 * its variants under one unique index. Documents stored before variants existed have none of
 * `basePrice`, `variants`, `options` or `skus`: they read as one default variant.
 */
export interface ProductDoc extends Omit<Product, "id" | "available" | "variants" | "options" | "prices"> {
  _id: string;
  deleted: boolean;
  version: number;
  basePrice?: number;
  prices?: Record<string, number>;
  options?: ProductOption[];
  variants?: VariantDoc[];
  skus?: string[];
  /** An active variant has units available (kept from inventory's announcements). */
  inStock?: boolean;
}

/** A product's variants; a product stored without any has one default variant with its own id. */
export function variantsOf(doc: ProductDoc): VariantDoc[] {
  return doc.variants?.length ? doc.variants : [{ id: doc._id, sku: doc.sku, options: {}, active: true }];
}

export function basePriceOf(doc: Pick<ProductDoc, "basePrice" | "price">): number {
  return doc.basePrice ?? doc.price;
}

/** A variant's price in the product's currency, and in the others (its own over the product's). */
export function variantPrices(
  doc: ProductDoc,
  v: VariantDoc,
): { price: number; prices: Record<string, number> } {
  const prices = { ...doc.prices, ...v.prices };
  delete prices[doc.currency];
  return { price: v.price ?? basePriceOf(doc), prices };
}

/** The derived fields a write must store with the variants: shown price and every SKU. */
export function derivedFields(doc: ProductDoc): Pick<ProductDoc, "price" | "skus"> {
  const variants = variantsOf(doc);
  const priced = variants.map((v) => ({ ...v, price: variantPrices(doc, v).price }));
  return {
    price: productPrice(basePriceOf(doc), priced),
    skus: [...new Set([doc.sku, ...variants.map((v) => v.sku)])],
  };
}

export interface ListFilters {
  q?: string;
  category?: string;
  minPrice?: number;
  maxPrice?: number;
  /** `?option.<name>=<value>`: one active variant has every value. */
  options?: Record<string, string>;
  /** `?inStock=true`: only products with units available. */
  inStock?: boolean;
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

/**
 * The store condition for `?option.<name>=<value>`: one active variant must have every value
 * asked (an $elemMatch, which MongoDB serves from a multikey index on the variants' options and
 * NeDB evaluates per candidate).
 */
export function optionsQuery(wanted: Record<string, string>): Record<string, unknown> {
  const match: Record<string, unknown> = { active: true };
  for (const [name, value] of Object.entries(wanted)) match[`options.${name}`] = value;
  return { variants: { $elemMatch: match } };
}

/** `?option.<name>=<value>` query keys as the list's `options` filter; any other key as it is. */
export function optionFilters(query: Record<string, unknown>): Record<string, unknown> {
  const options: Record<string, unknown> = {};
  const rest: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(query))
    if (key.startsWith("option.")) options[key.slice("option.".length)] = value;
    else rest[key] = value;
  return Object.keys(options).length ? { ...rest, options } : rest;
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
  if (f.options && Object.keys(f.options).length) Object.assign(query, optionsQuery(f.options));
  if (f.inStock) query.inStock = true;
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
    ...(p.options && Object.keys(p.options).length ? { options: sortedKeys(p.options) } : {}),
    ...(p.inStock ? { inStock: true } : {}),
  };
}

/** The same filter whatever order its keys came in (one cache entry, one query). */
function sortedKeys(o: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** One cache entry per distinct list request (user text included, unambiguously). */
export function listCacheKey(q: ListQuery): string {
  return `products.list:${JSON.stringify([q.page, q.pageSize, q.sort, q.q, q.category, q.minPrice, q.maxPrice, q.options, q.inStock])}`;
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

/** A product as answered, before inventory adds `available` to it and its variants. */
export type CatalogEntry = Omit<Product, "available" | "variants"> & {
  variants: Omit<Variant, "available">[];
};

/** The response shape without `available`, which comes from inventory. */
export function toEntry(doc: ProductDoc): CatalogEntry {
  const options = doc.options ?? [];
  const variants = variantsOf(doc).map((v) => ({
    id: v.id,
    sku: v.sku,
    title: variantTitle(options, v.options),
    options: v.options,
    ...variantPrices(doc, v),
    currency: doc.currency,
    active: v.active,
  }));
  return {
    id: doc._id,
    sku: doc.sku,
    name: doc.name,
    description: doc.description,
    price: productPrice(basePriceOf(doc), variants),
    currency: doc.currency,
    prices: doc.prices ?? {},
    category: doc.category,
    images: doc.images,
    active: doc.active,
    options,
    variants,
    createdAt: doc.createdAt,
    updatedAt: doc.updatedAt,
  };
}

/** Adds each variant's units in stock (0 when inventory has none) and their sum over active ones. */
export function withAvailable(entry: CatalogEntry, available: Map<string, number>): Product {
  const variants = entry.variants.map((v) => ({ ...v, available: available.get(v.id) ?? 0 }));
  return { ...entry, variants, available: productAvailable(variants) };
}

export function productEventData(doc: ProductDoc): ProductEventData {
  const entry = toEntry(doc);
  return {
    productId: doc._id,
    sku: doc.sku,
    name: doc.name,
    price: entry.price,
    currency: doc.currency,
    category: doc.category,
    active: doc.active,
    variants: entry.variants.map((v) => ({ variantId: v.id, sku: v.sku, price: v.price, active: v.active })),
  };
}

/** A unique index refused the write (NeDB and MongoDB report it differently). */
export function isDuplicateKey(err: unknown): boolean {
  const e = err as { code?: unknown; errorType?: unknown } | undefined;
  return e?.code === 11000 || e?.errorType === "uniqueViolated";
}
