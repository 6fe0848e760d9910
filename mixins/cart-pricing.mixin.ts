/**
 * A cart's region, shipping option and promotion, and its totals (API.md "Regions, tax, shipping
 * and promotions"), for the carts service: PATCH /api/cart, POST and DELETE /api/cart/promotions,
 * and `withTotals`, which the carts' view ends with. Totals are always computed here from the
 * catalogue's prices and pricing's current rules (domain/pricing.ts), never stored.
 *
 * What must stay true: a change of region reprices every line or changes nothing (a line with no
 * price in the new currency: 422 PRICE_UNAVAILABLE) and clears the shipping option; a code that
 * no longer applies stays on the cart with `discountTotal` 0 (checked again at checkout). Writes
 * are compare-and-set on the cart's version, like the lines'.
 */
import { Errors, type Context, type ServiceSchema } from "moleculer";
import type { Cart, CartChoices, Meta, PricingRules, PricingRulesParams } from "../contracts";
import { commonCurrency } from "../domain/money";
import {
  variantIn,
  type CartDoc,
  type CartLinesView,
  type CatalogProduct,
  type CatalogVariant,
} from "../domain/cart";
import {
  chosenOption,
  codeKey,
  inCurrency,
  priceUnavailable,
  promotionProblem,
  promotionRefused,
  totalsIn,
} from "../domain/pricing";
import { isDuplicateKey } from "../domain/catalog";
import { invalidField } from "../domain/rule-error";
import { pricingRules } from "../lib/pricing-rules";

type Ctx<P> = Context<P, Meta>;
interface SetPricing {
  regionId?: string | null;
  countryCode?: string;
  shippingOptionId?: string | null;
}

/** What the host (carts) gives this mixin. */
interface Host {
  load(userId: string): Promise<CartDoc>;
  view(ctx: Context, doc: CartDoc): Promise<Cart>;
  catalogue(ctx: Context, productIds: string[]): Promise<Map<string, CatalogProduct | null>>;
}

export interface CartPricingMethods {
  /** The rules a cart is priced with: its region (null: the default), option and code. */
  cartRules(ctx: Context, doc: CartChoices): Promise<PricingRules>;
  /** The cart's totals from its lines (already priced in the region's currency) and the rules. */
  withTotals(doc: CartChoices & { _id: string }, lines: CartLinesView, rules: PricingRules): Cart;
  /** The variant priced in the cart's currency; 422 PRICE_UNAVAILABLE on `variantId` when it has none. */
  inCartCurrency(ctx: Context, userId: string, variant: CatalogVariant): Promise<CatalogVariant>;
  /** Stores `fields` if the cart is still at the version `doc` was read at; false when it moved on. */
  saveChoices(doc: CartDoc, fields: CartChoices): Promise<boolean>;
}

const ID = { type: "string", min: 1, max: 100 } as const;
/** pricing.rules through the host's cache (carts mixes in CachedReadsMixin on PricingCacheClean). */
function rulesFor(this: { cached?: any }, ctx: Context, params: PricingRulesParams) {
  return pricingRules(ctx, params, this.cached?.bind(this));
}
const notFound = (what: string, field: string, id: string) =>
  new Errors.MoleculerClientError(`${what} not found`, 404, "NOT_FOUND", { [field]: id });

export const CartPricingMixin: ServiceSchema = {
  name: "",
  actions: {
    setPricing: {
      auth: "required",
      guest: "cart",
      params: {
        $$strict: true,
        regionId: { ...ID, optional: true, nullable: true },
        countryCode: { type: "string", pattern: "^[A-Za-z]{2}$", optional: true },
        shippingOptionId: { ...ID, optional: true, nullable: true },
      },
      async handler(this: any, ctx: Ctx<SetPricing>): Promise<Cart> {
        const { regionId, countryCode, shippingOptionId } = ctx.params;
        const cartId: string = await this.cartIdOf(ctx);
        for (;;) {
          const doc: CartDoc = await this.load(cartId);
          const current = doc.regionId ?? null;
          let target = current;
          let field = "regionId";
          if (regionId !== undefined) {
            target = regionId;
            if (regionId !== null && !(await rulesFor.call(this, ctx, { regionId })).regionFound)
              throw notFound("Region", "regionId", regionId);
          }
          if (countryCode !== undefined) {
            const byCountry = (await rulesFor.call(this, ctx, { country: countryCode })).region?.id ?? null;
            if (regionId !== undefined && byCountry !== target)
              throw invalidField(
                "countryCode",
                "REGION_COUNTRY",
                `${countryCode} is not in region ${regionId}`,
              );
            target = byCountry;
            field = regionId === undefined ? "countryCode" : field;
          }
          const rules: PricingRules = await rulesFor.call(this, ctx, {
            regionId: target,
            ...(shippingOptionId ? { shippingOptionId } : {}),
          });
          if (target !== current) await this.checkRepriced(ctx, doc, rules, field);
          let option: string | null | undefined = target !== current ? null : doc.shippingOptionId;
          if (shippingOptionId !== undefined) {
            if (shippingOptionId !== null && !rules.shippingOption)
              throw notFound("Shipping option", "shippingOptionId", shippingOptionId);
            option =
              chosenOption(
                rules.region,
                rules.shippingOptions,
                rules.shippingOption,
                shippingOptionId,
                "shippingOptionId",
                false,
              )?.id ?? null;
          }
          if (await this.saveChoices(doc, { regionId: target, shippingOptionId: option ?? null }))
            return this.view(ctx, await this.load(cartId));
        }
      },
    },

    applyPromotion: {
      auth: "required",
      guest: "cart",
      params: { $$strict: true, code: { type: "string", trim: true, min: 1, max: 100 } },
      async handler(this: any, ctx: Ctx<{ code: string }>): Promise<Cart> {
        const cartId: string = await this.cartIdOf(ctx);
        for (;;) {
          const doc: CartDoc = await this.load(cartId);
          const cart: Cart = await this.view(ctx, doc);
          const { promotion } = await rulesFor.call(this, ctx, { code: ctx.params.code });
          const problem = promotionProblem(promotion, { ...cart, nowMs: Date.now() });
          if (problem) throw promotionRefused("code", problem);
          if (await this.saveChoices(await this.load(cartId), { promotionCode: promotion!.code }))
            return this.view(ctx, await this.load(cartId));
        }
      },
    },

    removePromotion: {
      auth: "required",
      guest: "cart",
      params: { $$strict: true, code: { type: "string", min: 1, max: 100 } },
      async handler(this: any, ctx: Ctx<{ code: string }>): Promise<Cart> {
        const cartId: string = await this.cartIdOf(ctx);
        for (;;) {
          const doc: CartDoc = await this.load(cartId);
          if (!doc.promotionCode || codeKey(doc.promotionCode) !== codeKey(ctx.params.code))
            throw notFound("Promotion on the cart", "code", ctx.params.code);
          if (await this.saveChoices(doc, { promotionCode: null }))
            return this.view(ctx, await this.load(cartId));
        }
      },
    },
  },

  methods: {
    cartRules(this: any, ctx: Context, doc: CartChoices): Promise<PricingRules> {
      return rulesFor.call(this, ctx, {
        regionId: doc.regionId ?? null,
        ...(doc.shippingOptionId ? { shippingOptionId: doc.shippingOptionId } : {}),
        ...(doc.promotionCode ? { code: doc.promotionCode } : {}),
      });
    },

    withTotals(doc: CartChoices & { _id: string }, lines: CartLinesView, rules: PricingRules): Cart {
      const { region } = rules;
      const currency = region?.currency ?? lines.currency;
      const option = rules.shippingOption;
      const usable = option && region && option.active && option.regionId === region.id ? option : null;
      const code = doc.promotionCode ?? null;
      const applies =
        code && !promotionProblem(rules.promotion, { subtotal: lines.subtotal, currency, nowMs: Date.now() });
      const totals = totalsIn(region, lines.subtotal, usable, applies ? rules.promotion : null);
      return {
        id: doc._id,
        ...lines,
        currency,
        regionId: region?.id ?? null,
        promotionCode: code,
        discountTotal: totals.discountTotal,
        shippingOption: usable && { id: usable.id, name: usable.name, amount: usable.amount },
        shippingTotal: totals.shippingTotal,
        taxRate: totals.taxRate,
        taxInclusive: totals.taxInclusive,
        taxTotal: totals.taxTotal,
        total: totals.total,
      };
    },

    async inCartCurrency(this: any, ctx: Context, userId: string, variant: CatalogVariant) {
      const doc: CartDoc = await this.load(userId);
      if (!doc.regionId) return variant;
      const { region } = await rulesFor.call(this, ctx, { regionId: doc.regionId });
      if (!region) return variant;
      const priced = inCurrency(variant, region.currency);
      if (!priced) throw priceUnavailable("variantId", region.currency);
      return priced;
    },

    /** Every line has a price in the new region's currency (the default region: one common currency). */
    async checkRepriced(this: Host, ctx: Context, doc: CartDoc, rules: PricingRules, field: string) {
      const catalogue = await this.catalogue(
        ctx,
        doc.items.map((l) => l.productId),
      );
      const variants = doc.items
        .map((l) => {
          const p = catalogue.get(l.productId);
          return p ? variantIn(p, l.variantId) : null;
        })
        .filter((v): v is CatalogVariant => v !== null);
      const currency = rules.region?.currency ?? commonCurrency(variants.map((v) => v.currency));
      if (variants.length && (!currency || variants.some((v) => !inCurrency(v, currency))))
        throw priceUnavailable(field, currency ?? "one currency");
    },

    async saveChoices(this: any, doc: CartDoc, fields: CartChoices): Promise<boolean> {
      const now = new Date().toISOString();
      if (doc.version === 0) {
        const fresh = { ...doc, ...fields, version: 1, updatedAt: now };
        return this.adapter.insert(fresh).then(
          () => true,
          (err: unknown) => (isDuplicateKey(err) ? false : Promise.reject(err)),
        );
      }
      const done = await this.updateOneIf(
        { _id: doc._id, version: doc.version },
        { $set: { ...fields, version: doc.version + 1, updatedAt: now } },
      );
      return Boolean(done);
    },
  },
};
