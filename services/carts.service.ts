/**
 * One cart per user (the document id is the user id), one line per variant. Lines keep the
 * product's name and the variant's sku, title and unit price; every read refreshes them from the
 * catalogue (products.get, cached until a product or its stock changes), so a new price, an
 * inactive variant (the line shows `unavailable`) or a deleted product shows at once. Writes are
 * compare-and-set on a version, so concurrent changes to one cart are never lost. Guest carts
 * (X-Cart-Token) and their merge on sign-in are in mixins/guest-carts.mixin.ts.
 */
import type { Context, ServiceSchema, ServiceSettingSchema } from "moleculer";
import { PricingCacheClean, type Cart, type CartChoices, type LineRequest, type Meta } from "../contracts";
import { DbMixin, type DbMethods, type DbVars } from "../mixins/db.mixin";
import { RuleErrorsMixin } from "../mixins/rule-errors.mixin";
import { CartPricingMixin, type CartPricingMethods } from "../mixins/cart-pricing.mixin";
import { CachedReadsMixin, type CachedReadsMethods } from "../mixins/cached-reads.mixin";
import { GuestCartsMixin, type GuestCartMethods } from "../mixins/guest-carts.mixin";
import { isDuplicateKey } from "../domain/catalog";
import {
  MAX_QUANTITY,
  addLine,
  cartView,
  emptyCart,
  normalizeLine,
  refreshLines,
  rememberOrder,
  removeLine,
  removeOrdered,
  resolveVariant,
  setQuantity,
  type CartDoc,
  type CartLine,
  type CatalogProduct,
} from "../domain/cart";
import { catalogLookup } from "../lib/catalog-lookup";
import { RuleError } from "../domain/rule-error";

const PRODUCT_ID = { type: "string", min: 1, max: 100 } as const;
const QUANTITY = { type: "number", integer: true, min: 1, max: MAX_QUANTITY } as const;
const USER_ID = { $$strict: true, userId: { type: "string", min: 1, max: 100 } } as const;

type Ctx<P = Record<string, never>> = Context<P, Meta>;
type Store = DbVars;
interface Methods extends DbMethods, CartPricingMethods, CachedReadsMethods, GuestCartMethods {
  load(userId: string): Promise<CartDoc>;
  /** Applies `change` with a compare-and-set; with an orderId, once per order (a repeat changes nothing). */
  mutate(userId: string, change: (items: CartLine[]) => CartLine[], orderId?: string): Promise<CartDoc>;
  catalogue(ctx: Context, productIds: string[]): Promise<Map<string, CatalogProduct | null>>;
  view(ctx: Context, doc: CartDoc): Promise<Cart>;
}

const notFound = (field: "productId" | "variantId", id: string) =>
  new RuleError(404, "NOT_FOUND", field === "productId" ? "Product not found" : "Variant not found", {
    [field]: id,
  });
/** A cart stored before variants reads with every line its product's default variant. */
const normalized = (doc: CartDoc | null): CartDoc | null =>
  doc && { ...doc, items: doc.items.map(normalizeLine) };

const CartsService: ServiceSchema<ServiceSettingSchema, Methods, Store> = {
  name: "carts",
  mixins: [
    DbMixin({ collection: "carts" }),
    RuleErrorsMixin,
    CartPricingMixin,
    CachedReadsMixin({ event: PricingCacheClean, pattern: "pricing.**" }),
    GuestCartsMixin,
  ],

  actions: {
    get: {
      auth: "required",
      guest: "cart",
      params: { $$strict: true },
      async handler(ctx: Ctx): Promise<Cart> {
        return this.view(ctx, await this.load(await this.cartIdOf(ctx)));
      },
    },

    addItem: {
      auth: "required",
      guest: "cart",
      params: {
        $$strict: true,
        productId: { ...PRODUCT_ID, optional: true },
        variantId: { ...PRODUCT_ID, optional: true },
        quantity: QUANTITY,
      },
      async handler(ctx: Ctx<LineRequest>): Promise<Cart> {
        const { productId, variantId, quantity } = ctx.params;
        // The cart first: a bad cart token is a 401 before anything is looked up.
        const cartId = await this.cartIdOf(ctx);
        const found = await resolveVariant({ productId, variantId }, catalogLookup(ctx), "", notFound);
        const variant = await this.inCartCurrency(ctx, cartId, found);
        const doc = await this.mutate(cartId, (items) => addLine(items, variant, quantity));
        return this.view(ctx, doc);
      },
    },

    updateItem: {
      auth: "required",
      guest: "cart",
      params: { $$strict: true, productId: PRODUCT_ID, quantity: { ...QUANTITY, min: 0 } },
      async handler(ctx: Ctx<{ productId: string; quantity: number }>): Promise<Cart> {
        const { productId, quantity } = ctx.params;
        return this.view(
          ctx,
          await this.mutate(await this.cartIdOf(ctx), (items) => setQuantity(items, productId, quantity)),
        );
      },
    },

    removeItem: {
      auth: "required",
      guest: "cart",
      params: { $$strict: true, productId: PRODUCT_ID },
      async handler(ctx: Ctx<{ productId: string }>): Promise<Cart> {
        return this.view(
          ctx,
          await this.mutate(await this.cartIdOf(ctx), (items) => removeLine(items, ctx.params.productId)),
        );
      },
    },

    clear: {
      auth: "required",
      guest: "cart",
      params: { $$strict: true },
      async handler(ctx: Ctx): Promise<null> {
        await this.mutate(await this.cartIdOf(ctx), () => []);
        ctx.meta.$statusCode = 204;
        return null;
      },
    },

    linesOf: {
      visibility: "public",
      params: USER_ID,
      async handler(ctx: Ctx<{ userId: string }>): Promise<{ items: Required<LineRequest>[] } & CartChoices> {
        const { items, regionId, shippingOptionId, promotionCode } = await this.load(ctx.params.userId);
        return {
          items: items.map(({ productId, variantId, quantity }) => ({ productId, variantId, quantity })),
          ...{ regionId, shippingOptionId, promotionCode },
        };
      },
    },

    removeOrdered: {
      visibility: "public",
      params: {
        ...USER_ID,
        orderId: { type: "string", min: 1, max: 100 },
        lines: {
          type: "array",
          max: 100,
          items: {
            type: "object",
            strict: true,
            props: {
              productId: { ...PRODUCT_ID, optional: true },
              variantId: { ...PRODUCT_ID, optional: true },
              quantity: { type: "number", integer: true, min: 1 },
            },
          },
        },
      },
      async handler(ctx: Ctx<{ userId: string; orderId: string; lines: LineRequest[] }>): Promise<null> {
        const { userId, orderId, lines } = ctx.params;
        await this.mutate(userId, (items) => removeOrdered(items, lines), orderId);
        return null;
      },
    },

    health: {
      async handler() {
        return { service: "carts", database: await this.dbPing() };
      },
    },
  },

  methods: {
    async load(userId: string): Promise<CartDoc> {
      return normalized(await this.adapter.findById(userId)) ?? emptyCart(userId, new Date().toISOString());
    },

    async mutate(
      userId: string,
      change: (items: CartLine[]) => CartLine[],
      orderId?: string,
    ): Promise<CartDoc> {
      for (;;) {
        const cur: CartDoc | null = normalized(await this.adapter.findById(userId));
        const now = new Date().toISOString();
        if (cur && orderId && cur.ordersRemoved?.includes(orderId)) return cur;
        const ordersRemoved = orderId ? { ordersRemoved: rememberOrder(cur?.ordersRemoved, orderId) } : {};
        if (!cur) {
          const items = change([]);
          const doc = { ...emptyCart(userId, now), items, version: 1, ...ordersRemoved };
          // An order remembered even by an empty cart: lines added later are not its to take.
          if (!items.length && !orderId) return doc;
          try {
            await this.adapter.insert(doc);
            return doc;
          } catch (err) {
            if (!isDuplicateKey(err)) throw err;
            continue;
          }
        }
        const items = change(cur.items);
        const doc: CartDoc | null = await this.updateOneIf(
          { _id: userId, version: cur.version },
          { $set: { items, version: cur.version + 1, updatedAt: now, ...ordersRemoved } },
        );
        if (doc) return doc;
      }
    },

    /** What the catalogue says now about each product; null for a product that is gone. */
    async catalogue(ctx: Context, productIds: string[]): Promise<Map<string, CatalogProduct | null>> {
      const ids = [...new Set(productIds)];
      const lookup = catalogLookup(ctx);
      const found = await Promise.all(ids.map((id) => lookup.product(id)));
      return new Map(ids.map((id, i) => [id, found[i]]));
    },

    /** The cart as the catalogue and pricing describe it now; refreshed lines are stored when they changed. */
    async view(ctx: Context, doc: CartDoc): Promise<Cart> {
      const [catalogue, rules] = await Promise.all([
        this.catalogue(
          ctx,
          doc.items.map((l) => l.productId),
        ),
        this.cartRules(ctx, doc),
      ]);
      const { items, changed, unavailable } = refreshLines(doc.items, catalogue, rules.region?.currency);
      if (!changed) return this.withTotals(doc, cartView(doc, unavailable), rules);
      const updatedAt = new Date().toISOString();
      // Lost to a concurrent change: that writer stored its own view, this answer still holds.
      await this.updateOneIf(
        { _id: doc._id, version: doc.version },
        { $set: { items, version: doc.version + 1, updatedAt } },
      );
      return this.withTotals(doc, cartView({ items, updatedAt }, unavailable), rules);
    },
  },
};

export default CartsService;
