/**
 * Stock per variant (StockLevelsMixin: one atomic conditional update per change), keyed by the
 * variant id (a simple product's one variant has the product's id): `productId` params name that
 * stock id, except get/set, which also take a product id (VariantStockMixin). And one
 * reservation per order (ReservationsMixin: recoverable after a crash at any point), both in the
 * `stock` collection. A reservation is inserted first ("pending"), so every hold has one to be
 * checked against. Products show `available`, so every action that moves stock ends by
 * invalidating their cached reads (CacheClean.products).
 */
import { LowStockMixin } from "../mixins/admin-reads.mixin";
import { Errors, type Context, type Service, type ServiceSchema, type ServiceSettingSchema } from "moleculer";
import {
  CacheClean,
  type EventEnvelope,
  type Meta,
  type ProductStockLevel,
  type Reservation,
  type ReservationLine,
  type StockLevel,
} from "../contracts";
import { config } from "../lib/config";
import { DbMixin, type DbMethods, type DbVars } from "../mixins/db.mixin";
import { OutboxMixin } from "../mixins/outbox.mixin";
import { RuleErrorsMixin } from "../mixins/rule-errors.mixin";
import { ReservationsMixin, type ReservationsMethods } from "../mixins/reservations.mixin";
import { StockLevelsMixin, type StockLevelsMethods } from "../mixins/stock-levels.mixin";
import { VariantStockMixin, type VariantStockMethods } from "../mixins/variant-stock.mixin";
import { isDuplicateKey } from "../domain/catalog";
import {
  checkAdjustment,
  linesToMove,
  newReservation,
  isOwnVariant,
  normalizeLines,
  productLevel,
  stockIdToSet,
  toReservation,
  toStockLevel,
  type AdjustStock,
  type ReservationDoc,
  type StockDoc,
} from "../domain/inventory";

const PRODUCT_ID = { type: "string", min: 1, max: 100 } as const;
const ORDER_ID = { $$strict: true, orderId: { type: "string", min: 1, max: 100 } } as const;
const LEVEL = {
  $$strict: true,
  productId: PRODUCT_ID,
  available: { type: "number", integer: true, min: 0, max: 1e9 },
} as const;

type Store = DbVars & {
  ttlSeconds: number;
  sweepTimer?: NodeJS.Timeout;
};
interface Methods extends StockLevelsMethods, ReservationsMethods, VariantStockMethods, DbMethods {
  stockChanged(): Promise<unknown>;
}
type Level = { productId: string; available: number };

/** Durable subscriptions (@moleculer/channels reads `channels`, which moleculer's types don't know). */
type Channels = Record<
  string,
  { group: string; handler(this: Service & Store & Methods, ctx: Context<any>): Promise<void> }
>;

/** What reserve answers for a reservation: a failed one is the error its first call gave. */
function reserveAnswer(doc: ReservationDoc): Reservation {
  if (doc.state !== "failed") return toReservation(doc);
  throw new Errors.MoleculerClientError("Insufficient stock", 409, "INSUFFICIENT_STOCK", {
    productId: doc.failedProductId,
  });
}

const InventoryService: ServiceSchema<ServiceSettingSchema, Methods, Store> & { channels: Channels } = {
  name: "inventory",
  mixins: [
    DbMixin({
      collection: "stock",
      indexes: [
        { fields: { state: 1, expiresAtMs: 1 } },
        // The sweep's other two queries: unfinished settlements, and stock records holding units.
        { fields: { settlingSinceMs: 1 }, sparse: true },
        { fields: { reserved: 1 }, sparse: true },
      ],
    }),
    OutboxMixin,
    RuleErrorsMixin,
    StockLevelsMixin,
    LowStockMixin,
    ReservationsMixin,
    VariantStockMixin,
  ],

  actions: {
    // `productId` is the route's `:id`: a stock (variant) id, or a product id (sums and variants).
    get: {
      params: { $$strict: true, productId: PRODUCT_ID },
      async handler(ctx: Context<{ productId: string }, Meta>): Promise<StockLevel | ProductStockLevel> {
        const { productId } = ctx.params;
        const product = await this.productOf(ctx, productId);
        // A simple product's id is its one variant's stock id: answered as before, one level.
        if (!product || isOwnVariant(product)) return toStockLevel(await this.level(productId));
        const ids = product.variants.map((v) => v.id);
        const docs: StockDoc[] = await this.adapter.find({ query: { _id: { $in: ids } } });
        return productLevel(
          product,
          docs.filter((d) => d.kind === "stock" && !d.deleted),
        );
      },
    },

    getMany: {
      params: { $$strict: true, productIds: { type: "array", items: PRODUCT_ID, max: 100 } },
      async handler(ctx: Context<{ productIds: string[] }, Meta>): Promise<StockLevel[]> {
        // By id alone: NeDB would otherwise pick a worse index for its candidates.
        const docs: StockDoc[] = await this.adapter.find({ query: { _id: { $in: ctx.params.productIds } } });
        return docs.filter((d) => d.kind === "stock" && !d.deleted).map(toStockLevel);
      },
    },

    set: {
      auth: "admin",
      params: LEVEL,
      async handler(ctx: Context<Level, Meta>): Promise<StockLevel> {
        const { available } = ctx.params;
        const productId = stockIdToSet(ctx.params.productId, await this.productOf(ctx, ctx.params.productId));
        await this.level(productId);
        await this.change(productId, () => available);
        await this.stockChanged();
        return toStockLevel(await this.level(productId));
      },
    },

    init: {
      visibility: "public",
      params: LEVEL,
      async handler(ctx: Context<Level, Meta>): Promise<StockLevel> {
        const doc = await this.ensureStock(ctx.params.productId, ctx.params.available, true);
        await this.stockChanged();
        return toStockLevel(doc);
      },
    },

    reserve: {
      visibility: "public",
      params: {
        ...ORDER_ID,
        lines: {
          type: "array",
          min: 1,
          max: 100,
          items: {
            type: "object",
            strict: true,
            props: { productId: PRODUCT_ID, quantity: { type: "number", integer: true, min: 1, max: 1e6 } },
          },
        },
      },
      async handler(ctx: Context<{ orderId: string; lines: ReservationLine[] }, Meta>): Promise<Reservation> {
        const { orderId } = ctx.params;
        let lines = normalizeLines(ctx.params.lines);
        try {
          await this.adapter.insert(newReservation(orderId, lines, "pending", Date.now(), this.ttlSeconds));
        } catch (err) {
          if (!isDuplicateKey(err)) throw err;
          const doc = await this.settled(orderId);
          // Still pending after the wait: its first call may have died part-way. Takes are
          // idempotent per order, so this call goes on with the lines as first recorded (not
          // for a reservation from before holds: its takes are not).
          if (doc.state !== "pending" || linesToMove(doc).unheld) return reserveAnswer(doc);
          lines = doc.lines;
        }
        try {
          return reserveAnswer(await this.takeLines(orderId, lines));
        } finally {
          await this.stockChanged();
        }
      },
    },

    release: {
      visibility: "public",
      params: ORDER_ID,
      async handler(ctx: Context<{ orderId: string }, Meta>): Promise<Reservation> {
        const { orderId } = ctx.params;
        const released = await this.settle(orderId, "release");
        if (released) {
          await this.stockChanged();
          return toReservation(released);
        }
        // Unknown order: a tombstone, so a reserve arriving late for it takes nothing.
        await this.adapter
          .insert(newReservation(orderId, [], "released", Date.now(), this.ttlSeconds))
          .catch((err: unknown) => {
            if (!isDuplicateKey(err)) throw err;
          });
        return toReservation(await this.settled(orderId));
      },
    },

    commit: {
      visibility: "public",
      params: ORDER_ID,
      async handler(ctx: Context<{ orderId: string }, Meta>): Promise<Reservation> {
        const { orderId } = ctx.params;
        await this.settle(orderId, "commit");
        const doc = await this.settled(orderId);
        if (doc.state === "committed") return toReservation(doc);
        throw new Errors.MoleculerClientError("Reservation is not active", 409, "RESERVATION_NOT_ACTIVE", {
          orderId,
          state: doc.state,
        });
      },
    },

    // A received return: units back into available, once per key however often it is asked.
    restock: {
      visibility: "public",
      params: {
        $$strict: true,
        productId: PRODUCT_ID,
        quantity: { type: "number", integer: true, min: 1, max: 1e6 },
        key: { type: "string", min: 1, max: 200 },
      },
      async handler(
        ctx: Context<{ productId: string; quantity: number; key: string }, Meta>,
      ): Promise<StockLevel> {
        const { productId, quantity, key } = ctx.params;
        await this.change(productId, (a) => a + quantity, { once: key });
        await this.stockChanged();
        return toStockLevel(await this.level(productId));
      },
    },

    health: {
      async handler() {
        return { service: "inventory", database: await this.dbPing() };
      },
    },
  },

  channels: {
    "product.created": {
      group: "inventory",
      async handler(ctx: Context<EventEnvelope<"product.created">>) {
        // Stock is per variant (a simple product's one variant has its id); events from before
        // variants name only the product.
        const { productId, variants } = ctx.params.data;
        for (const id of variants?.map((v) => v.variantId) ?? [productId])
          await this.ensureStock(id, 0, false);
        await this.stampOwner(productId, variants);
      },
    },
    // A variant added later arrives in product.updated: its stock learns its product there.
    "product.updated": {
      group: "inventory",
      async handler(ctx: Context<EventEnvelope<"product.updated">>) {
        const { productId, variants } = ctx.params.data;
        await this.stampOwner(productId, variants);
        // A removed variant's stock goes with it (events from before variants carry no list).
        if (
          variants &&
          (await this.retireStock(
            productId,
            variants.map((v) => v.variantId),
          ))
        )
          await this.stockChanged();
      },
    },
    // Stock corrections from outside (e.g. a Kafka topic through the bridge's KAFKA_INBOUND).
    "inventory.adjust": {
      group: "inventory",
      async handler(ctx: Context<AdjustStock>) {
        const problem = checkAdjustment(ctx.params);
        if (problem) return this.logger.warn(`inventory.adjust ignored: ${problem}`, ctx.params);
        const { adjustmentId, productId, delta } = ctx.params;
        const applied = await this.change(productId, (a: number) => (a + delta >= 0 ? a + delta : null), {
          once: adjustmentId,
        });
        if (!applied)
          this.logger.warn(
            `inventory.adjust ${adjustmentId}: unknown product or not enough stock`,
            ctx.params,
          );
        else await this.stockChanged();
      },
    },
    "product.deleted": {
      group: "inventory",
      async handler(ctx: Context<EventEnvelope<"product.deleted">>) {
        const { productId } = ctx.params.data;
        // Kept as a tombstone, so a late or redelivered product.created cannot bring it back.
        await this.ensureStock(productId, 0, false);
        await this.updateOneIf({ _id: productId, kind: "stock" }, { $set: { deleted: true, available: 0 } });
        await this.retireStock(productId, []);
        await this.stockChanged();
      },
    },
  },

  methods: {
    stockChanged() {
      return this.broker.broadcast(CacheClean.products);
    },
  },

  created() {
    this.ttlSeconds = config().reservationTtlSeconds;
  },

  async started() {
    const sweepMs = Math.min(30_000, Math.max(250, (this.ttlSeconds * 1000) / 4));
    this.sweepTimer = setInterval(() => {
      this.sweep()
        .then((changed) => changed && this.stockChanged())
        .catch((err) => this.logger.warn("Reservation sweep failed; will retry.", String(err)));
    }, sweepMs);
    this.sweepTimer.unref?.();
  },

  async stopped() {
    clearInterval(this.sweepTimer);
  },
};

export default InventoryService;
