/**
 * The catalogue. `list` and `get` answers, `available` included (read from inventory in one
 * batched call per page), are kept in the broker's cacher (memory, or Redis shared by every node).
 * Every product write, and every stock change in inventory, broadcasts CacheClean.products, and
 * every node running this service clears them (see CachedReadsMixin).
 */
import { randomUUID } from "node:crypto";
import { Errors, type Context, type ServiceSchema, type ServiceSettingSchema } from "moleculer";
import {
  CacheClean,
  Events,
  type Meta,
  type Page,
  type Product,
  type ProductInput,
  type ProductListParams,
} from "../contracts";
import { call } from "../lib/typed";
import { CachedReadsMixin, type CachedReadsMethods } from "../mixins/cached-reads.mixin";
import { DbMixin } from "../mixins/db.mixin";
import { pageWindow, totalPages } from "../domain/paging";
import { OutboxMixin } from "../mixins/outbox.mixin";
import {
  DEFAULT_CATEGORY,
  DEFAULT_CURRENCY,
  PRODUCT_SORTS,
  deletedSku,
  generateSku,
  getCacheKey,
  isDuplicateKey,
  listCacheKey,
  normalizeList,
  productEventData,
  productQuery,
  sortSpec,
  toEntry,
  withAvailable,
  type CatalogEntry,
  type ProductDoc,
} from "../domain/catalog";

const CAS_ATTEMPTS = 10;

const FIELDS = {
  name: { type: "string", trim: true, min: 1, max: 200 },
  price: { type: "number", integer: true, min: 0, max: 1e12 },
  currency: { type: "string", pattern: "^[A-Z]{3}$", optional: true },
  description: { type: "string", max: 5000, optional: true },
  category: { type: "string", trim: true, min: 1, max: 100, optional: true },
  sku: { type: "string", trim: true, pattern: "^[A-Za-z0-9._-]{1,64}$", optional: true },
  images: { type: "array", items: { type: "url" }, max: 20, optional: true },
} as const;
const asOptional = <T extends Record<string, object>>(fields: T) =>
  Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, { ...v, optional: true }]));
const ID = { type: "string", min: 1, max: 100 } as const;

type Store = {
  adapter: any;
  updateOneIf(filter: object, update: object): Promise<any | null>;
  dbPing(): Promise<boolean>;
  newEvent: (...args: any[]) => any;
  withOutbox(events: any[]): object;
  pushOutbox(update: object, events: any[]): object;
  flushOutbox(id: string): Promise<void>;
};
interface Methods extends CachedReadsMethods {
  countProducts(query: object): Promise<number>;
  load(id: string): Promise<ProductDoc>;
  casWrite(
    id: string,
    change: (doc: ProductDoc) => { set: Partial<ProductDoc>; event: "updated" | "deleted" } | null,
  ): Promise<ProductDoc>;
  withAvailability(ctx: Context, entries: CatalogEntry[]): Promise<Product[]>;
}

function notFound(id: string) {
  return new Errors.MoleculerClientError("Product not found", 404, "NOT_FOUND", { id });
}
function skuTaken(sku: string | undefined) {
  return new Errors.MoleculerClientError("SKU is already taken", 409, "SKU_TAKEN", { sku });
}

const ProductsService: ServiceSchema<ServiceSettingSchema, Methods, Store> = {
  name: "products",
  mixins: [
    DbMixin({
      collection: "products",
      indexes: [
        { fields: { sku: 1 }, unique: true },
        { fields: { category: 1, price: 1 } },
        { fields: { createdAt: -1 } },
      ],
    }),
    OutboxMixin,
    CachedReadsMixin({ event: CacheClean.products, pattern: "products.**" }),
  ],

  actions: {
    list: {
      params: {
        $$strict: true,
        page: { type: "number", integer: true, positive: true, convert: true, optional: true },
        pageSize: { type: "number", integer: true, positive: true, convert: true, optional: true },
        q: { type: "string", max: 200, optional: true },
        category: { type: "string", max: 100, optional: true },
        minPrice: { type: "number", integer: true, min: 0, convert: true, optional: true },
        maxPrice: { type: "number", integer: true, min: 0, convert: true, optional: true },
        sort: { type: "enum", values: [...PRODUCT_SORTS], optional: true },
      },
      async handler(ctx: Context<ProductListParams, Meta>): Promise<Page<Product>> {
        const list = normalizeList(ctx.params);
        return this.cached(listCacheKey(list), async () => {
          const { page, pageSize } = list;
          const query = productQuery(list);
          const [docs, total] = await Promise.all([
            this.adapter.find({ query, sort: sortSpec(list.sort), ...pageWindow(page, pageSize) }),
            this.countProducts(query),
          ]);
          const rows = await this.withAvailability(ctx, (docs as ProductDoc[]).map(toEntry));
          return { rows, total, page, pageSize, totalPages: totalPages(total, pageSize) };
        });
      },
    },

    get: {
      params: { $$strict: true, id: ID },
      async handler(ctx: Context<{ id: string }, Meta>): Promise<Product> {
        const { id } = ctx.params;
        return this.cached(getCacheKey(id), async () => {
          const [product] = await this.withAvailability(ctx, [toEntry(await this.load(id))]);
          return product;
        });
      },
    },

    create: {
      auth: "admin",
      params: {
        $$strict: true,
        ...FIELDS,
        stock: { type: "number", integer: true, min: 0, max: 1e9, optional: true },
      },
      async handler(ctx: Context<ProductInput & { stock?: number }, Meta>): Promise<Product> {
        const { stock = 0, ...input } = ctx.params;
        const now = new Date().toISOString();
        const doc: ProductDoc = {
          _id: randomUUID(),
          sku: input.sku ?? generateSku(),
          name: input.name,
          description: input.description ?? "",
          price: input.price,
          currency: input.currency ?? DEFAULT_CURRENCY,
          category: input.category ?? DEFAULT_CATEGORY,
          images: input.images ?? [],
          active: true,
          deleted: false,
          version: 1,
          createdAt: now,
          updatedAt: now,
        };
        const evt = this.newEvent(Events.productCreated, doc._id, productEventData(doc));
        try {
          await this.adapter.insert({ ...doc, ...this.withOutbox([evt]) });
        } catch (err) {
          throw isDuplicateKey(err) ? skuTaken(doc.sku) : err;
        }
        let level;
        try {
          level = await call(ctx, "inventory.init", { productId: doc._id, available: stock });
        } catch (err) {
          // Undo: a product whose stock could not be set is not created (its event goes with it).
          await this.adapter.removeById(doc._id);
          throw err;
        }
        await this.announceChange();
        await this.flushOutbox(doc._id);
        ctx.meta.$statusCode = 201;
        ctx.meta.$location = `/api/products/${doc._id}`;
        return withAvailable(toEntry(doc), level.available);
      },
    },

    update: {
      auth: "admin",
      params: { $$strict: true, id: ID, ...asOptional(FIELDS) },
      async handler(ctx: Context<Partial<ProductInput> & { id: string }, Meta>): Promise<Product> {
        const { id, ...fields } = ctx.params;
        const doc = await this.casWrite(id, () =>
          Object.keys(fields).length ? { set: fields, event: "updated" } : null,
        );
        return (await this.withAvailability(ctx, [toEntry(doc)]))[0];
      },
    },

    remove: {
      auth: "admin",
      params: { $$strict: true, id: ID },
      async handler(ctx: Context<{ id: string }, Meta>): Promise<null> {
        await this.casWrite(ctx.params.id, (doc) => ({
          set: { deleted: true, active: false, sku: deletedSku(doc) },
          event: "deleted",
        }));
        ctx.meta.$statusCode = 204;
        return null;
      },
    },

    health: {
      async handler() {
        return { service: "products", database: await this.dbPing() };
      },
    },
  },

  methods: {
    async countProducts(query: object): Promise<number> {
      // moleculer-db counts NeDB documents by copying every match; NeDB's own count does not.
      const nedb = this.adapter.db;
      return typeof nedb?.countAsync === "function" ? nedb.countAsync(query) : this.adapter.count({ query });
    },

    async load(id: string): Promise<ProductDoc> {
      const doc: ProductDoc | null = await this.adapter.findById(id);
      if (!doc || doc.deleted) throw notFound(id);
      return doc;
    },

    /**
     * Applies a change to the current version of a product, with its event in the same write;
     * a concurrent write in between makes it start again from the newer version, so each event
     * carries the state its write produced.
     */
    async casWrite(id: string, change: Parameters<Methods["casWrite"]>[1]): Promise<ProductDoc> {
      for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
        const doc = await this.load(id);
        const planned = change(doc);
        if (!planned) return doc;
        const set = { ...planned.set, version: doc.version + 1, updatedAt: new Date().toISOString() };
        const evt =
          planned.event === "deleted"
            ? this.newEvent(Events.productDeleted, id, { productId: id })
            : this.newEvent(Events.productUpdated, id, productEventData({ ...doc, ...set }));
        let written;
        try {
          written = await this.updateOneIf(
            { _id: id, version: doc.version, deleted: false },
            this.pushOutbox({ $set: set }, [evt]),
          );
        } catch (err) {
          throw isDuplicateKey(err) ? skuTaken(planned.set.sku) : err;
        }
        if (!written) continue;
        await this.announceChange();
        await this.flushOutbox(id);
        return written as ProductDoc;
      }
      throw new Errors.MoleculerClientError("Product is being changed concurrently", 409, "CONFLICT", { id });
    },

    async withAvailability(ctx: Context, entries: CatalogEntry[]): Promise<Product[]> {
      if (!entries.length) return [];
      const levels = await call(ctx, "inventory.getMany", { productIds: entries.map((e) => e.id) });
      const available = new Map(levels.map((l) => [l.productId, l.available]));
      return entries.map((e) => withAvailable(e, available.get(e.id) ?? 0));
    },
  },
};

export default ProductsService;
