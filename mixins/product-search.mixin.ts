/**
 * The catalogue's reads over many products: `list` (filters, sort, paging) and `facets` (counts
 * per category and option value over the filtered set). Both answers are cached until the next
 * write or stock change (CachedReadsMixin), so a hot query costs one cache read.
 *
 * Facets read only the few fields they count (FACET_FIELDS) of the matching documents, in one
 * pass: no query per option value, on either store.
 */
import type { Context, ServiceSchema } from "moleculer";
import type { Meta, Page, Product, ProductListParams } from "../contracts";
import { pageWindow, totalPages } from "../domain/paging";
import {
  PRODUCT_SORTS,
  listCacheKey,
  normalizeList,
  productQuery,
  sortSpec,
  toEntry,
  type ProductDoc,
} from "../domain/catalog";
import { FACET_FIELDS, countFacets, type Facets } from "../domain/facets";

/** An option name: a field name in the store too, so no dots and no leading `$`. */
export const OPTION_NAME = {
  type: "string",
  trim: true,
  min: 1,
  max: 50,
  pattern: "^[^.$\\u0000]+$",
} as const;
const OPTION_VALUE = { type: "string", min: 1, max: 50 } as const;

const FILTERS = {
  q: { type: "string", max: 200, optional: true },
  category: { type: "string", max: 100, optional: true },
  minPrice: { type: "number", integer: true, min: 0, convert: true, optional: true },
  maxPrice: { type: "number", integer: true, min: 0, convert: true, optional: true },
} as const;

export const ProductSearchMixin: Partial<ServiceSchema> = {
  actions: {
    list: {
      params: {
        $$strict: true,
        page: { type: "number", integer: true, positive: true, convert: true, optional: true },
        pageSize: { type: "number", integer: true, positive: true, convert: true, optional: true },
        ...FILTERS,
        sort: { type: "enum", values: [...PRODUCT_SORTS], optional: true },
        inStock: { type: "boolean", convert: true, optional: true },
        options: { type: "record", key: OPTION_NAME, value: OPTION_VALUE, optional: true },
      },
      async handler(this: any, ctx: Context<ProductListParams, Meta>): Promise<Page<Product>> {
        const list = normalizeList(ctx.params);
        return this.cached(listCacheKey(list), async () => {
          const { page, pageSize } = list;
          const query = productQuery(list);
          const [docs, total] = await Promise.all([
            this.adapter.find({ query, sort: sortSpec(list.sort), ...pageWindow(page, pageSize) }),
            this.countDocs(query),
          ]);
          const rows = await this.withAvailability(ctx, (docs as ProductDoc[]).map(toEntry));
          return { rows, total, page, pageSize, totalPages: totalPages(total, pageSize) };
        });
      },
    },

    facets: {
      params: { $$strict: true, ...FILTERS },
      async handler(this: any, ctx: Context<ProductListParams, Meta>): Promise<Facets> {
        const list = normalizeList(ctx.params);
        const key = `products.facets:${JSON.stringify([list.q, list.category, list.minPrice, list.maxPrice])}`;
        return this.cached(key, async () =>
          countFacets(await this.findFields(productQuery(list), FACET_FIELDS)),
        );
      },
    },
  },
};
