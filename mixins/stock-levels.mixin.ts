/**
 * The inventory's stock documents (`{_id: productId, kind: "stock", available, reserved, holds}`),
 * each change one atomic conditional update, so available never goes below 0, and `inventory.low`
 * stored in the same write as the change that crosses LOW_STOCK_THRESHOLD (outbox), so it is
 * emitted once per crossing. Units held for an order carry that order's hold in the same write
 * (see StockDoc.holds), so taking, giving back and selling them are each one idempotent update.
 * Use after DbMixin and OutboxMixin.
 */
import { Errors, type ServiceSchema } from "moleculer";
import {
  Events,
  InternalChannels,
  type AvailabilityChanged,
  type EventEnvelope,
  type ReservationLine,
} from "../contracts";
import { publish } from "../lib/channels";
import { config } from "../lib/config";
import { isDuplicateKey } from "../domain/catalog";
import {
  crossesBelow,
  lowStockData,
  holdKey,
  holdPath,
  newStock,
  noCrossingFloor,
  returnId,
  type Hold,
  type StockDoc,
} from "../domain/inventory";

const APPLIED_KEPT = 500;

export interface StockLevelsMethods {
  /** A stock record went from units available to none, or back (for the catalogue's inStock). */
  availabilityChanged(stockId: string, available: number): void;
  /** The live record of a product, or 404. */
  level(productId: string): Promise<StockDoc>;
  /** Creates the record if missing (a racing insert is fine), or sets `available` when asked to. */
  ensureStock(productId: string, available: number, overwrite: boolean): Promise<StockDoc>;
  /**
   * available := next(available), or false when next() refuses (null) or the record is gone.
   * With `once`, a change of that id is applied at most once (a redelivered adjustment); with
   * `hold`, at most once per order (true when that order's hold is there already).
   */
  change(
    productId: string,
    next: (available: number) => number | null,
    opts?: ChangeOptions,
  ): Promise<boolean>;
  /**
   * Takes a line's units from available into reserved under the order's hold, or false when there
   * are not enough. Idempotent: true without taking again while the order's hold is there.
   */
  take(orderId: string, line: ReservationLine): Promise<boolean>;
  /** Removes the order's hold of `line` and adds `delta` ({available, reserved}); a no-op without the hold. */
  unhold(orderId: string, line: ReservationLine, delta: object): Promise<void>;
  /** Puts an order's sold units of `line` back into available, once per order. */
  returnSold(orderId: string, line: ReservationLine): Promise<void>;
}

export interface ChangeOptions {
  inc?: object;
  once?: string;
  hold?: Hold;
}

interface Deps {
  adapter: any;
  threshold: number;
  availabilityChanged(stockId: string, available: number): void;
  updateOneIf(filter: object, update: object): Promise<any | null>;
  newEvent(...args: any[]): EventEnvelope;
  pushOutbox(update: object, events: EventEnvelope[]): object;
  flushOutbox(id: string): Promise<void>;
}

export const StockLevelsMixin: Partial<ServiceSchema> = {
  methods: {
    async level(this: Deps, productId: string): Promise<StockDoc> {
      const doc: StockDoc | null = await this.adapter.findOne({ _id: productId, kind: "stock" });
      if (!doc || doc.deleted)
        throw new Errors.MoleculerClientError("Not found", 404, "NOT_FOUND", { productId });
      return doc;
    },

    async ensureStock(
      this: Deps & StockLevelsMethods,
      productId: string,
      available: number,
      overwrite: boolean,
    ) {
      const doc = newStock(productId, available);
      try {
        await this.adapter.insert(doc);
        return doc;
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
      }
      if (overwrite) await this.change(productId, () => available);
      return this.adapter.findById(productId);
    },

    // A compare-and-set on the value next() was computed from: the crossing is then exact.
    async change(
      this: Deps,
      productId: string,
      next: (available: number) => number | null,
      { inc = {}, once, hold }: ChangeOptions = {},
    ) {
      const holdAt = hold ? holdPath(hold.orderId) : undefined;
      for (;;) {
        const doc: StockDoc | null = await this.adapter.findOne({ _id: productId, kind: "stock" });
        if (!doc || doc.deleted) return false;
        if (once && doc.applied?.includes(once)) return true;
        if (hold && doc.holds?.[holdKey(hold.orderId)]) return true;
        const after = next(doc.available);
        if (after === null) return false;
        const low = crossesBelow(doc.available, after, this.threshold);
        const update = {
          $set: { available: after, ...(holdAt ? { [holdAt]: hold } : {}) },
          ...(Object.keys(inc).length ? { $inc: inc } : {}),
          // The ids of the last changes applied, kept in the same document as the change itself.
          ...(once ? { $push: { applied: { $each: [once], $slice: -APPLIED_KEPT } } } : {}),
        };
        const data = lowStockData(doc, after, this.threshold);
        const written = await this.updateOneIf(
          {
            _id: productId,
            available: doc.available,
            deleted: false,
            ...(once ? { applied: { $ne: once } } : {}),
            ...(holdAt ? { [holdAt]: { $exists: false } } : {}),
          },
          low ? this.pushOutbox(update, [this.newEvent(Events.inventoryLow, productId, data)]) : update,
        );
        if (!written) continue;
        if (low) await this.flushOutbox(productId);
        if (doc.available > 0 !== after > 0) this.availabilityChanged(productId, after);
        return true;
      }
    },

    // One conditional update while far above the threshold (the common case, and the only one a
    // hot product sees); a compare-and-set near it, which also tells "held already" from "not
    // enough" when the fast path matches nothing.
    async take(this: Deps & StockLevelsMethods, orderId: string, { productId, quantity }: ReservationLine) {
      const far = { $gte: noCrossingFloor(quantity, this.threshold) };
      const hold: Hold = { orderId, quantity, atMs: Date.now() };
      const path = holdPath(orderId);
      const update = { $inc: { available: -quantity, reserved: quantity }, $set: { [path]: hold } };
      const filter = {
        _id: productId,
        kind: "stock",
        deleted: false,
        available: far,
        [path]: { $exists: false },
      };
      const taken: StockDoc | null = await this.updateOneIf(filter, update);
      if (taken) {
        if (taken.available === 0) this.availabilityChanged(productId, 0);
        return true;
      }
      return this.change(productId, (a) => (a >= quantity ? a - quantity : null), {
        inc: { reserved: quantity },
        hold,
      });
    },

    async unhold(this: Deps, orderId: string, { productId, quantity }: ReservationLine, delta: object) {
      const path = holdPath(orderId);
      const given: StockDoc | null = await this.updateOneIf(
        { _id: productId, kind: "stock", [`${path}.quantity`]: quantity },
        { $inc: delta, $unset: { [path]: true } },
      );
      const back = (delta as { available?: number }).available ?? 0;
      if (given && back > 0 && given.available === back) this.availabilityChanged(productId, back);
    },

    /** Tells the catalogue (best effort: it re-reads the levels, so a late or doubled one is harmless). */
    availabilityChanged(this: any, stockId: string, available: number): void {
      const msg: AvailabilityChanged = { stockId, available };
      publish(this.broker, InternalChannels.inventoryAvailability, msg).catch((err: unknown) =>
        this.logger.warn(`Could not announce the availability of ${stockId}.`, String(err)),
      );
    },

    // Rare (a sale cancelled after it was committed), so a compare-and-set with a once-id is fine.
    async returnSold(this: StockLevelsMethods, orderId: string, { productId, quantity }: ReservationLine) {
      await this.change(productId, (a) => a + quantity, { once: returnId(orderId) });
    },
  },

  created(this: any) {
    this.threshold = config().lowStockThreshold;
  },
};
