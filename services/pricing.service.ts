/**
 * Regions, shipping options and promotions (API.md "Regions, tax, shipping and promotions"): admin
 * CRUD, the public reads, and `rules`, the one read carts and orders price with. Reads are kept in
 * the broker's cacher and every write broadcasts PricingCacheClean, so every node clears
 * `pricing.**` (CachedReadsMixin). Promotion uses are counted by mixins/promotion-uses.mixin.ts.
 *
 * One collection, documents told apart by `kind` (region, option, promotion, use). What must stay
 * true: a country is in at most one region (409); a code is unique case-insensitively (its
 * upper-cased `codeKey` has a unique index: 409); `usageCount` is never written by a client.
 */
import { randomUUID } from "node:crypto";
import { Errors, type Context, type ServiceSchema, type ServiceSettingSchema } from "moleculer";
import {
  PricingCacheClean,
  type Meta,
  type Page,
  type PricingRules,
  type PricingRulesParams,
  type Promotion,
  type PromotionInput,
  type Region,
  type RegionInput,
  type ShippingOption,
  type ShippingOptionInput,
} from "../contracts";
import { CachedReadsMixin, type CachedReadsMethods } from "../mixins/cached-reads.mixin";
import { DbMixin, type DbMethods, type DbVars } from "../mixins/db.mixin";
import { PromotionUsesMixin, type PromotionUsesMethods } from "../mixins/promotion-uses.mixin";
import { isDuplicateKey } from "../domain/catalog";
import { paging, pageOf } from "../domain/paging";
import { codeKey, countryCode, promotionInputProblem } from "../domain/pricing";
import { once } from "../lib/pricing-rules";

const ID = { type: "string", min: 1, max: 100 } as const;
const NAME = { type: "string", trim: true, min: 1, max: 100 } as const;
const CURRENCY = { type: "string", pattern: "^[A-Z]{3}$" } as const;
const AMOUNT = { type: "number", integer: true, min: 0, max: 1_000_000_000 } as const;
const COUNT = { type: "number", integer: true, min: 1, max: 1_000_000_000 } as const;
const DATE = { type: "string", pattern: "^\\d{4}-\\d{2}-\\d{2}(T[\\d:.]+(Z|[+-]\\d{2}:\\d{2})?)?$" } as const;
const nullable = <T extends object>(rule: T) => ({ ...rule, optional: true, nullable: true });
const optional = <T extends object>(rule: T) => ({ ...rule, optional: true });

const REGION = {
  name: NAME,
  currency: CURRENCY,
  countries: {
    type: "array",
    min: 1,
    max: 250,
    unique: true,
    items: { type: "string", pattern: "^[A-Z]{2}$" },
  },
  taxRate: { type: "number", integer: true, min: 0, max: 10_000 },
  taxInclusive: { type: "boolean", optional: true },
} as const;
const OPTION = {
  name: NAME,
  regionId: ID,
  amount: AMOUNT,
  freeAbove: nullable(AMOUNT),
  active: { type: "boolean", optional: true },
} as const;
const PROMOTION = {
  code: { type: "string", pattern: "^[A-Za-z0-9_-]{1,50}$" },
  type: { type: "enum", values: ["percentage", "fixed", "free_shipping"] },
  value: AMOUNT,
  currency: nullable(CURRENCY),
  minSubtotal: nullable(AMOUNT),
  startsAt: nullable(DATE),
  endsAt: nullable(DATE),
  usageLimit: nullable(COUNT),
  perCustomerLimit: nullable(COUNT),
  active: { type: "boolean", optional: true },
} as const;
const allOptional = (fields: Record<string, object>) =>
  Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, optional(v)]));

type Ctx<P> = Context<P, Meta>;
type Kind = "region" | "option" | "promotion";
type Doc = Record<string, any> & { _id: string; kind: Kind };
interface Methods extends CachedReadsMethods, PromotionUsesMethods, DbMethods {
  /** Every region and shipping option (a handful), cached. */
  everything(): Promise<{ regions: Region[]; options: ShippingOption[] }>;
  promotionByCode(code: string): Promise<Promotion | null>;
  load(kind: Kind, id: string): Promise<Doc>;
  write(kind: Kind, id: string | null, fields: Record<string, unknown>): Promise<Doc>;
  remove(ctx: Ctx<{ id: string }>, kind: Kind): Promise<null>;
  checkCountries(countries: string[], regionId: string | null): Promise<void>;
}

const LABEL: Record<Kind, string> = { region: "Region", option: "Shipping option", promotion: "Promotion" };
const notFound = (kind: Kind, id: string) =>
  new Errors.MoleculerClientError(`${LABEL[kind]} not found`, 404, "NOT_FOUND", { id });
const invalid = (field: string, type: string, message: string) =>
  new Errors.ValidationError(message, type, [{ field, type, message }]);

/** The stored document as API.md shows it: `id`, no internals (kind, codeKey, counters, markers). */
function view<T>(doc: Doc): T {
  const { _id, kind: _kind, codeKey: _key, customers: _c, holds: _h, ...rest } = doc;
  return { id: _id, ...rest } as T;
}
const created = <T extends { id: string }>(ctx: Ctx<unknown>, path: string, body: T): T => {
  ctx.meta.$statusCode = 201;
  ctx.meta.$location = `/api/${path}/${body.id}`;
  return body;
};

type Vars = DbVars & { inFlight: Map<string, Promise<any>> };

const PricingService: ServiceSchema<ServiceSettingSchema, Methods, Vars> = {
  name: "pricing",
  mixins: [
    DbMixin({ collection: "pricing", indexes: [{ fields: { codeKey: 1 }, unique: true, sparse: true }] }),
    CachedReadsMixin({ event: PricingCacheClean, pattern: "pricing.**" }),
    PromotionUsesMixin,
  ],

  actions: {
    listRegions: {
      params: { $$strict: true },
      async handler(): Promise<{ rows: Region[] }> {
        return { rows: (await this.everything()).regions };
      },
    },
    createRegion: {
      auth: "admin",
      params: { $$strict: true, ...REGION },
      async handler(ctx: Ctx<RegionInput>): Promise<Region> {
        await this.checkCountries(ctx.params.countries, null);
        const doc = await this.write("region", null, { taxInclusive: false, ...ctx.params });
        return created(ctx, "regions", view<Region>(doc));
      },
    },
    updateRegion: {
      auth: "admin",
      params: { $$strict: true, id: ID, ...allOptional(REGION) },
      async handler(ctx: Ctx<Partial<RegionInput> & { id: string }>): Promise<Region> {
        const { id, ...fields } = ctx.params;
        await this.load("region", id);
        if (fields.countries) await this.checkCountries(fields.countries, id);
        return view<Region>(await this.write("region", id, fields));
      },
    },
    removeRegion: {
      auth: "admin",
      params: { $$strict: true, id: ID },
      async handler(ctx: Ctx<{ id: string }>): Promise<null> {
        await this.remove(ctx, "region");
        // Its options go with it: an option of no region could never be chosen.
        await this.adapter.removeMany({ kind: "option", regionId: ctx.params.id });
        await this.announceChange();
        return null;
      },
    },

    listShippingOptions: {
      params: { $$strict: true, regionId: optional(ID) },
      async handler(ctx: Ctx<{ regionId?: string }>): Promise<{ rows: ShippingOption[] }> {
        const { regionId } = ctx.params;
        const { options } = await this.everything();
        return { rows: options.filter((o) => o.active && (!regionId || o.regionId === regionId)) };
      },
    },
    createShippingOption: {
      auth: "admin",
      params: { $$strict: true, ...OPTION },
      async handler(ctx: Ctx<ShippingOptionInput>): Promise<ShippingOption> {
        await this.load("region", ctx.params.regionId).catch(() => {
          throw invalid("regionId", "notFound", `Region ${ctx.params.regionId} does not exist`);
        });
        const doc = await this.write("option", null, { active: true, ...ctx.params });
        return created(ctx, "shipping-options", view<ShippingOption>(doc));
      },
    },
    updateShippingOption: {
      auth: "admin",
      params: { $$strict: true, id: ID, ...allOptional(OPTION) },
      async handler(ctx: Ctx<Partial<ShippingOptionInput> & { id: string }>): Promise<ShippingOption> {
        const { id, ...fields } = ctx.params;
        await this.load("option", id);
        if (fields.regionId)
          await this.load("region", fields.regionId).catch(() => {
            throw invalid("regionId", "notFound", `Region ${fields.regionId} does not exist`);
          });
        return view<ShippingOption>(await this.write("option", id, fields));
      },
    },
    removeShippingOption: {
      auth: "admin",
      params: { $$strict: true, id: ID },
      handler(ctx: Ctx<{ id: string }>): Promise<null> {
        return this.remove(ctx, "option");
      },
    },

    listPromotions: {
      auth: "admin",
      params: {
        $$strict: true,
        page: { type: "number", integer: true, positive: true, convert: true, optional: true },
        pageSize: { type: "number", integer: true, positive: true, convert: true, optional: true },
      },
      async handler(ctx: Ctx<{ page?: number; pageSize?: number }>): Promise<Page<Promotion>> {
        const { page, pageSize, offset, limit } = paging(ctx.params.page, ctx.params.pageSize);
        const query = { kind: "promotion" };
        const [docs, total] = await Promise.all([
          this.adapter.find({ query, sort: ["-createdAt", "_id"], offset, limit }),
          this.adapter.count({ query }),
        ]);
        return pageOf(
          docs.map((d: Doc) => view<Promotion>(d)),
          total,
          page,
          pageSize,
        );
      },
    },
    createPromotion: {
      auth: "admin",
      params: { $$strict: true, ...PROMOTION },
      async handler(ctx: Ctx<PromotionInput>): Promise<Promotion> {
        const fields = { active: true, ...ctx.params };
        const bad = promotionInputProblem(fields as Promotion);
        if (bad) throw invalid(bad.field, bad.type, bad.message);
        const doc = await this.write("promotion", null, { ...fields, usageCount: 0 });
        return created(ctx, "promotions", view<Promotion>(doc));
      },
    },
    updatePromotion: {
      auth: "admin",
      params: { $$strict: true, id: ID, ...allOptional(PROMOTION) },
      async handler(ctx: Ctx<Partial<PromotionInput> & { id: string }>): Promise<Promotion> {
        const { id, ...fields } = ctx.params;
        const cur = view<Promotion>(await this.load("promotion", id));
        const merged = Object.fromEntries(
          Object.entries({ ...cur, ...fields }).filter(([, v]) => v !== null),
        ) as unknown as Promotion;
        const bad = promotionInputProblem(merged);
        if (bad) throw invalid(bad.field, bad.type, bad.message);
        return view<Promotion>(await this.write("promotion", id, fields));
      },
    },
    removePromotion: {
      auth: "admin",
      params: { $$strict: true, id: ID },
      handler(ctx: Ctx<{ id: string }>): Promise<null> {
        return this.remove(ctx, "promotion");
      },
    },

    rules: {
      visibility: "public",
      params: {
        $$strict: true,
        regionId: nullable(ID),
        country: optional({ type: "string", max: 60 }),
        shippingOptionId: optional(ID),
        code: optional({ type: "string", max: 100 }),
      },
      async handler(ctx: Ctx<PricingRulesParams>): Promise<PricingRules> {
        const { regionId, country, shippingOptionId, code } = ctx.params;
        const { regions, options } = await this.everything();
        const byId = regionId ? regions.find((r) => r.id === regionId) : undefined;
        const byCountry =
          regionId === undefined && country
            ? regions.find((r) => r.countries.includes(countryCode(country)))
            : undefined;
        const region = byId ?? byCountry ?? null;
        return {
          region,
          regionFound: !regionId || Boolean(byId),
          shippingOptions: region ? options.filter((o) => o.active && o.regionId === region.id) : [],
          shippingOption: (shippingOptionId && options.find((o) => o.id === shippingOptionId)) || null,
          promotion: code ? await this.promotionByCode(code) : null,
        };
      },
    },

    health: {
      async handler() {
        return { service: "pricing", database: await this.dbPing() };
      },
    },
  },

  methods: {
    everything() {
      return this.cached("pricing.everything", () =>
        once(this.inFlight, "everything", async () => {
          const [regions, options] = await Promise.all([
            this.adapter.find({ query: { kind: "region" }, sort: ["createdAt", "_id"] }),
            this.adapter.find({ query: { kind: "option" }, sort: ["createdAt", "_id"] }),
          ]);
          return {
            regions: regions.map((d: Doc) => view<Region>(d)),
            options: options.map((d: Doc) => view<ShippingOption>(d)),
          };
        }),
      );
    },

    promotionByCode(code: string) {
      const key = codeKey(code);
      return this.cached(`pricing.promotion:${key}`, () =>
        once(this.inFlight, `promotion:${key}`, async () => {
          const [doc] = await this.adapter.find({ query: { kind: "promotion", codeKey: key }, limit: 1 });
          // Cached as false: the cacher keeps no null, and an unknown code is asked for often too.
          return doc ? view<Promotion>(doc) : (false as const);
        }),
      ).then((p) => p || null);
    },

    async load(kind: Kind, id: string): Promise<Doc> {
      const doc: Doc | null = await this.adapter.findById(id);
      if (!doc || doc.kind !== kind) throw notFound(kind, id);
      return doc;
    },

    /** Creates (id null) or patches a document; a null field is removed. Every write clears the caches. */
    async write(kind: Kind, id: string | null, fields: Record<string, unknown>): Promise<Doc> {
      const now = new Date().toISOString();
      const set = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== null && v !== undefined));
      const unset = Object.fromEntries(
        Object.entries(fields)
          .filter(([, v]) => v === null)
          .map(([k]) => [k, 1]),
      );
      if (typeof set.code === "string") set.codeKey = codeKey(set.code);
      try {
        let doc: Doc | null;
        if (id === null) {
          doc = { _id: randomUUID(), kind, ...set, createdAt: now, updatedAt: now } as Doc;
          await this.adapter.insert(doc);
        } else {
          const update = {
            $set: { ...set, updatedAt: now },
            ...(Object.keys(unset).length ? { $unset: unset } : {}),
          };
          doc = await this.updateOneIf({ _id: id, kind }, update);
          if (!doc) throw notFound(kind, id);
        }
        return doc;
      } catch (err) {
        if (isDuplicateKey(err))
          throw new Errors.MoleculerClientError("This code is taken", 409, "CODE_TAKEN", {
            code: fields.code,
          });
        throw err;
      } finally {
        await this.announceChange();
      }
    },

    async remove(ctx: Ctx<{ id: string }>, kind: Kind): Promise<null> {
      await this.load(kind, ctx.params.id);
      await this.adapter.removeById(ctx.params.id);
      await this.announceChange();
      ctx.meta.$statusCode = 204;
      return null;
    },

    async checkCountries(countries: string[], regionId: string | null): Promise<void> {
      const taken = await this.adapter.find({ query: { kind: "region", countries: { $in: countries } } });
      const other = taken.find((r: Doc) => r._id !== regionId);
      if (other) {
        const country = countries.find((c) => other.countries.includes(c));
        throw new Errors.MoleculerClientError(
          `${country} is already in region ${other.name}`,
          409,
          "COUNTRY_TAKEN",
          { field: "countries", country, regionId: other._id },
        );
      }
    },
  },

  created() {
    // Reads in flight, by key: a cold cache under a burst reads the store once.
    this.inFlight = new Map();
  },
};

export default PricingService;
