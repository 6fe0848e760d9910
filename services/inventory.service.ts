/**
 * Stock per product (StockLevelsMixin: one atomic conditional update per change) and one
 * reservation per order, both in the `stock` collection. A reservation is inserted first
 * ("pending"): its unique id is the lock that keeps a duplicate call from taking stock twice.
 * Products show `available`, so every action that moves stock ends by invalidating their cached
 * reads (CacheClean.products).
 */
import { Errors, type Context, type Service, type ServiceSchema, type ServiceSettingSchema } from "moleculer";
import {
  CacheClean,
  type EventEnvelope,
  type Meta,
  type Reservation,
  type ReservationLine,
  type StockLevel,
} from "../contracts";
import { config } from "../lib/config";
import { DbMixin } from "../mixins/db.mixin";
import { OutboxMixin } from "../mixins/outbox.mixin";
import { StockLevelsMixin, type StockLevelsMethods } from "../mixins/stock-levels.mixin";
import { isDuplicateKey } from "../domain/catalog";
import {
  SETTLEMENTS,
  checkAdjustment,
  newReservation,
  normalizeLines,
  reservationId,
  stockDelta,
  toReservation,
  toStockLevel,
  type AdjustStock,
  type ReservationDoc,
  type Settlement,
  type StockDoc,
} from "../domain/inventory";
import { setTimeout as sleep } from "node:timers/promises";

const DUPLICATE_WAIT_MS = 5000;

const PRODUCT_ID = { type: "string", min: 1, max: 100 } as const;
const ORDER_ID = { $$strict: true, orderId: { type: "string", min: 1, max: 100 } } as const;
const LEVEL = {
  $$strict: true,
  productId: PRODUCT_ID,
  available: { type: "number", integer: true, min: 0, max: 1e9 },
} as const;

type Store = {
  adapter: any;
  updateOneIf(filter: object, update: object): Promise<any | null>;
  dbPing(): Promise<boolean>;
  ttlSeconds: number;
  sweepTimer?: NodeJS.Timeout;
};
interface Methods extends StockLevelsMethods {
  settle(orderId: string, how: Settlement, set?: Partial<ReservationDoc>): Promise<ReservationDoc | null>;
  settled(orderId: string): Promise<ReservationDoc>;
  stockChanged(): Promise<unknown>;
  sweepExpired(): Promise<number>;
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
    DbMixin({ collection: "stock", indexes: [{ fields: { state: 1, expiresAtMs: 1 } }] }),
    OutboxMixin,
    StockLevelsMixin,
  ],

  actions: {
    get: {
      params: { $$strict: true, productId: PRODUCT_ID },
      async handler(ctx: Context<{ productId: string }, Meta>): Promise<StockLevel> {
        return toStockLevel(await this.level(ctx.params.productId));
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
        const { productId, available } = ctx.params;
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
        const lines = normalizeLines(ctx.params.lines);
        const _id = reservationId(orderId);
        try {
          await this.adapter.insert(newReservation(orderId, lines, "pending", Date.now(), this.ttlSeconds));
        } catch (err) {
          if (isDuplicateKey(err)) return reserveAnswer(await this.settled(orderId));
          throw err;
        }
        try {
          for (const line of lines) {
            if (!(await this.take(line))) {
              await this.settle(orderId, "fail", { failedProductId: line.productId });
              return reserveAnswer(await this.settled(orderId));
            }
            // Not pending any more (released or expired meanwhile): the claimant gave back what was
            // recorded, so this line goes back here.
            if (!(await this.updateOneIf({ _id, state: "pending" }, { $push: { taken: line } }))) {
              await this.move(line, stockDelta("pending", "released", line.quantity));
              return reserveAnswer(await this.settled(orderId));
            }
          }
          const done = await this.updateOneIf({ _id, state: "pending" }, { $set: { state: "reserved" } });
          return reserveAnswer(done ?? (await this.settled(orderId)));
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
        await this.ensureStock(ctx.params.data.productId, 0, false);
      },
    },
    // Stock corrections from outside (e.g. a Kafka topic through the bridge's KAFKA_INBOUND).
    "inventory.adjust": {
      group: "inventory",
      async handler(ctx: Context<AdjustStock>) {
        const problem = checkAdjustment(ctx.params);
        if (problem) return this.logger.warn(`inventory.adjust ignored: ${problem}`, ctx.params);
        const { adjustmentId, productId, delta } = ctx.params;
        const applied = await this.change(
          productId,
          (a: number) => (a + delta >= 0 ? a + delta : null),
          {},
          adjustmentId,
        );
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
        await this.stockChanged();
      },
    },
  },

  methods: {
    /**
     * Moves a reservation along the state machine with a compare-and-set on its state: of
     * concurrent callers (any node, any settlement) exactly one wins, and only the winner moves
     * the stock the reservation holds. Null when the reservation is not in a state `how` accepts.
     */
    async settle(orderId: string, how: Settlement, set = {}): Promise<ReservationDoc | null> {
      const { from, to } = SETTLEMENTS[how];
      const _id = reservationId(orderId);
      for (;;) {
        const cur: ReservationDoc | null = await this.adapter.findById(_id);
        if (!cur || !from.includes(cur.state)) return null;
        const doc: ReservationDoc | null = await this.updateOneIf(
          { _id, state: cur.state },
          { $set: { ...set, state: to } },
        );
        if (!doc) continue;
        for (const l of doc.taken) await this.move(l, stockDelta(cur.state, to, l.quantity));
        return doc;
      }
    },

    /** An order's reservation; while another call is still taking its stock, once that is done. */
    async settled(orderId: string): Promise<ReservationDoc> {
      const deadline = Date.now() + DUPLICATE_WAIT_MS;
      for (;;) {
        const doc: ReservationDoc | null = await this.adapter.findById(reservationId(orderId));
        if (!doc) throw new Errors.MoleculerClientError("Not found", 404, "NOT_FOUND", { orderId });
        if (doc.state !== "pending" || Date.now() > deadline) return doc;
        await sleep(20);
      }
    },

    stockChanged() {
      return this.broker.broadcast(CacheClean.products);
    },

    /** Every node sweeps; settle() lets one claimant give each reservation's stock back. */
    async sweepExpired(): Promise<number> {
      const due: ReservationDoc[] = await this.adapter.find({
        query: {
          kind: "reservation",
          state: { $in: SETTLEMENTS.expire.from },
          expiresAtMs: { $lt: Date.now() },
        },
        limit: 200,
      });
      let swept = 0;
      for (const r of due) if (await this.settle(r.orderId, "expire")) swept++;
      if (swept) await this.stockChanged();
      return swept;
    },
  },

  created() {
    this.ttlSeconds = config().reservationTtlSeconds;
  },

  async started() {
    const sweepMs = Math.min(30_000, Math.max(250, (this.ttlSeconds * 1000) / 4));
    this.sweepTimer = setInterval(() => {
      this.sweepExpired().catch((err) =>
        this.logger.warn("Reservation sweep failed; will retry.", String(err)),
      );
    }, sweepMs);
    this.sweepTimer.unref?.();
  },

  async stopped() {
    clearInterval(this.sweepTimer);
  },
};

export default InventoryService;
