/**
 * The catalogue. `list` and `get` answers, `available` included (read from inventory in one
 * batched call per page), are kept in the broker's cacher (memory, or Redis shared by every node).
 * Every product write, and every stock change in inventory, broadcasts CacheClean.products, and
 * every node running this service clears them (see CachedReadsMixin).
 */
import { randomUUID } from "node:crypto";
import { Errors, type Context, type ServiceSchema, type ServiceSettingSchema } from "moleculer";
import { CacheClean, Events, type Meta, type Product, type ProductInput } from "../contracts";
import { call } from "../lib/typed";
import { CachedReadsMixin, type CachedReadsMethods } from "../mixins/cached-reads.mixin";
import { DbMixin, type DbMethods, type DbVars } from "../mixins/db.mixin";
import { ProductSearchMixin } from "../mixins/product-search.mixin";
import { ProductInStockMixin, availableOf, type InStockMethods } from "../mixins/product-in-stock.mixin";
import { ProductMigrationsMixin } from "../mixins/product-migrations.mixin";
import { VariantLookupMixin } from "../mixins/variant-lookup.mixin";
import { OutboxMixin, type OutboxMethods } from "../mixins/outbox.mixin";
import {
  DEFAULT_CATEGORY,
  DEFAULT_CURRENCY,
  deletedSku,
  generateSku,
  getCacheKey,
  isDuplicateKey,
  productEventData,
  toEntry,
  derivedFields,
  withAvailable,
  type CatalogEntry,
  type ProductDoc,
  type VariantDoc,
} from "../domain/catalog";
import { checkOptions, checkPrices, checkVariants, extendOptions, type Problem } from "../domain/variants";
import {
  MONEY,
  OPTION,
  PRICES,
  SKU,
  STOCK,
  VARIANT,
  VariantsMixin,
  invalid,
  type VariantsMethods,
} from "../mixins/product-variants.mixin";

const CAS_ATTEMPTS = 10;

const FIELDS = {
  name: { type: "string", trim: true, min: 1, max: 200 },
  price: MONEY,
  currency: { type: "string", pattern: "^[A-Z]{3}$", optional: true },
  prices: { ...PRICES, optional: true },
  description: { type: "string", max: 5000, optional: true },
  category: { type: "string", trim: true, min: 1, max: 100, optional: true },
  sku: { ...SKU, optional: true },
  images: { type: "array", items: { type: "url" }, max: 20, optional: true },
  // Limits past the validator's (3 options, 100 variants) are checked in domain/variants.ts,
  // which names the field; the caps here only keep an absurd body from being walked.
  options: { type: "array", items: OPTION, max: 10, optional: true },
} as const;
const asOptional = <T extends Record<string, object>>(fields: T) =>
  Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, { ...v, optional: true }]));
const ID = { type: "string", min: 1, max: 100 } as const;

type Store = DbVars;
interface Methods extends CachedReadsMethods, VariantsMethods, InStockMethods, DbMethods, OutboxMethods {
  load(id: string): Promise<ProductDoc>;
  withAvailability(ctx: Context, entries: CatalogEntry[]): Promise<Product[]>;
}

function notFound(id: string) {
  return new Errors.MoleculerClientError("Product not found", 404, "NOT_FOUND", { id });
}
function skuTaken(skus: string[]) {
  return new Errors.MoleculerClientError("SKU is already taken", 409, "SKU_TAKEN", { skus });
}

const ProductsService: ServiceSchema<ServiceSettingSchema, Methods, Store> = {
  name: "products",
  mixins: [
    DbMixin({
      collection: "products",
      indexes: [
        { fields: { sku: 1 }, unique: true },
        // One index for the SKUs of products and variants alike (each document lists its own).
        { fields: { skus: 1 }, unique: true, sparse: true },
        { fields: { category: 1, price: 1 } },
        { fields: { createdAt: -1 } },
        // Variant lookups by id (stock changes) and the option filter's $elemMatch.
        { fields: { "variants.id": 1 }, sparse: true },
      ],
    }),
    OutboxMixin,
    CachedReadsMixin({ event: CacheClean.products, pattern: "products.**" }),
    VariantsMixin,
    ProductSearchMixin,
    ProductInStockMixin,
    ProductMigrationsMixin,
    VariantLookupMixin,
  ],

  actions: {
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
        stock: STOCK,
        variants: { type: "array", items: VARIANT, max: 1000, optional: true },
      },
      async handler(ctx: Context<ProductInput & { stock?: number }, Meta>): Promise<Product> {
        const { stock, options = [], variants: inputs = [], ...input } = ctx.params;
        const problems: Problem[] = [
          ...checkPrices(input.prices, "prices"),
          ...checkOptions(options),
          ...checkVariants(options, inputs),
        ];
        if (options.length && !inputs.length)
          problems.push({
            field: "variants",
            type: "required",
            message: "A product with options needs variants",
          });
        if (options.length && stock !== undefined)
          problems.push({ field: "stock", type: "forbidden", message: "Stock is set per variant" });
        if (problems.length) throw invalid(problems);
        const now = new Date().toISOString();
        const _id = randomUUID();
        const variants: VariantDoc[] | undefined = options.length
          ? inputs.map(({ stock: _stock, ...v }) => ({ id: randomUUID(), ...v, active: true }))
          : undefined;
        const base: ProductDoc = {
          _id,
          sku: input.sku ?? generateSku(),
          name: input.name,
          description: input.description ?? "",
          price: input.price,
          basePrice: input.price,
          currency: input.currency ?? DEFAULT_CURRENCY,
          prices: input.prices ?? {},
          category: input.category ?? DEFAULT_CATEGORY,
          images: input.images ?? [],
          options,
          ...(variants ? { variants } : {}),
          inStock: (variants ? inputs.map((v) => v.stock ?? 0) : [stock ?? 0]).some((n) => n > 0),
          active: true,
          deleted: false,
          version: 1,
          createdAt: now,
          updatedAt: now,
        };
        const doc: ProductDoc = { ...base, ...derivedFields(base) };
        const evt = this.newEvent(Events.productCreated, doc._id, productEventData(doc));
        try {
          await this.adapter.insert({ ...doc, ...this.withOutbox([evt]) });
        } catch (err) {
          throw isDuplicateKey(err) ? skuTaken(doc.skus!) : err;
        }
        const stocks = variants
          ? variants.map((v, i) => [v.id, inputs[i].stock ?? 0] as const)
          : [[_id, stock ?? 0] as const];
        try {
          await Promise.all(
            stocks.map(([productId, available]) => call(ctx, "inventory.init", { productId, available })),
          );
        } catch (err) {
          // Undo: a product whose stock could not be set is not created (its event goes with it).
          await this.adapter.removeById(doc._id);
          throw err;
        }
        await this.announceChange();
        await this.flushOutbox(doc._id);
        ctx.meta.$statusCode = 201;
        ctx.meta.$location = `/api/products/${doc._id}`;
        return withAvailable(toEntry(doc), new Map(stocks));
      },
    },

    update: {
      auth: "admin",
      params: { $$strict: true, id: ID, ...asOptional(FIELDS) },
      async handler(
        ctx: Context<Partial<Omit<ProductInput, "variants">> & { id: string }, Meta>,
      ): Promise<Product> {
        const { id, price, options, ...fields } = ctx.params;
        const bad = checkPrices(fields.prices, "prices");
        if (bad.length) throw invalid(bad);
        const doc = await this.casWrite(id, (cur) => {
          const set: Partial<ProductDoc> = {
            ...fields,
            ...(price !== undefined ? { basePrice: price } : {}),
          };
          if (options) {
            const merged = extendOptions(cur.options ?? [], options);
            if (merged.some((o) => "field" in o)) throw invalid(merged as Problem[]);
            set.options = merged as ProductDoc["options"];
          }
          return Object.keys(set).length ? { set, event: "updated" } : null;
        });
        return (await this.withAvailability(ctx, [toEntry(doc)]))[0];
      },
    },

    remove: {
      auth: "admin",
      params: { $$strict: true, id: ID },
      async handler(ctx: Context<{ id: string }, Meta>): Promise<null> {
        await this.casWrite(ctx.params.id, (doc) => ({
          set: { deleted: true, active: false, sku: deletedSku(doc), skus: [] },
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
        const changed = { ...planned.set, version: doc.version + 1, updatedAt: new Date().toISOString() };
        // A deleted product keeps no SKU; any other change may move the shown price or the SKUs.
        const set =
          planned.event === "deleted" ? changed : { ...changed, ...derivedFields({ ...doc, ...changed }) };
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
          throw isDuplicateKey(err) ? skuTaken(set.skus ?? []) : err;
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
      const available = await availableOf(
        ctx,
        entries.flatMap((e) => e.variants.map((v) => v.id)),
      );
      return entries.map((e) => withAvailable(e, available));
    },
  },
};

export default ProductsService;
