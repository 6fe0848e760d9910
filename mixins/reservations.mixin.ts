/**
 * One reservation per order (`{_id: "order:<orderId>", kind: "reservation"}` in the stock
 * collection) and the stock it holds, kept recoverable after a crash at any point:
 * - taking a line is one write that records the order's hold with the units (StockLevelsMixin);
 * - a settlement records the lines it moves (`moving`) in the same compare-and-set that changes
 *   the state, and each line's move is idempotent, so whoever finds it unfinished finishes it;
 * - a take that lands after its reservation was settled leaves a hold that belongs to nothing;
 *   the taker gives it back, and if it crashed first, the sweep does.
 * So after any crash and one sweep, for every product available + reserved + sold = stock put in,
 * and reserved is what the live reservations hold. Every node sweeps; compare-and-sets and
 * conditional updates let one claimant move each line once. Use after StockLevelsMixin.
 */
import { Errors, type ServiceSchema } from "moleculer";
import type { ReservationLine } from "../contracts";
import {
  SETTLEMENTS,
  giveBack,
  isOrphanHold,
  linesToMove,
  reservationId,
  stockDelta,
  type ReservationDoc,
  type Settlement,
  type StockDoc,
} from "../domain/inventory";
import type { StockLevelsMethods } from "./stock-levels.mixin";
import { setTimeout as sleep } from "node:timers/promises";

const DUPLICATE_WAIT_MS = 5000;
/**
 * The sweep finishes settlements and checks holds this old: younger ones are most likely still in
 * their caller's hands (doing the work twice is harmless, only wasted).
 */
const RECOVERY_GRACE_MS = 5000;
const SWEEP_BATCH = 200;

export interface ReservationsMethods {
  /** Takes each line for the pending reservation; the reservation as it ends (reserved, failed, or settled meanwhile). */
  takeLines(orderId: string, lines: ReservationLine[]): Promise<ReservationDoc>;
  /**
   * Moves a reservation along the state machine with a compare-and-set on its state: of
   * concurrent callers (any node, any settlement) exactly one wins, and only the winner moves
   * the stock. Null when the reservation is not in a state `how` accepts.
   */
  settle(orderId: string, how: Settlement, set?: Partial<ReservationDoc>): Promise<ReservationDoc | null>;
  /** An order's reservation; while another call is still taking its stock, once that is done (or DUPLICATE_WAIT_MS). */
  settled(orderId: string): Promise<ReservationDoc>;
  /** Unfinished settlements finished, expired reservations settled, orphan holds given back: how many. */
  sweep(nowMs?: number): Promise<number>;
  sweepExpired(nowMs?: number): Promise<number>;
}

interface Deps extends StockLevelsMethods, ReservationsMethods {
  adapter: any;
  updateOneIf(filter: object, update: object): Promise<any | null>;
  finishMoving(doc: ReservationDoc): Promise<ReservationDoc>;
  dropOrphanHolds(doc: ReservationDoc): Promise<void>;
  finishSettlements(nowMs: number): Promise<number>;
  reconcileHolds(nowMs: number): Promise<number>;
}

export const ReservationsMixin: Partial<ServiceSchema> = {
  methods: {
    async takeLines(this: Deps, orderId: string, lines: ReservationLine[]): Promise<ReservationDoc> {
      const _id = reservationId(orderId);
      // Settled by someone else meanwhile: a line taken after that settlement passed it is ours to give back.
      const lostTheRace = async () => {
        const doc = await this.settled(orderId);
        await this.dropOrphanHolds(doc);
        return doc;
      };
      for (const line of lines) {
        if (await this.take(orderId, line)) continue;
        return (await this.settle(orderId, "fail", { failedProductId: line.productId })) ?? lostTheRace();
      }
      const reserved: ReservationDoc | null = await this.updateOneIf(
        { _id, state: "pending" },
        { $set: { state: "reserved" } },
      );
      return reserved ?? lostTheRace();
    },

    async settle(this: Deps, orderId: string, how: Settlement, set = {}): Promise<ReservationDoc | null> {
      const { from, to } = SETTLEMENTS[how];
      const _id = reservationId(orderId);
      for (;;) {
        const cur: ReservationDoc | null = await this.adapter.findById(_id);
        if (!cur) return null;
        // The previous settlement first: its lines would otherwise move twice (e.g. held units
        // of a half-finished commit returned as sold ones by a release).
        if (cur.settlingSinceMs !== undefined) {
          await this.finishMoving(cur);
          continue;
        }
        if (!from.includes(cur.state)) return null;
        const { lines, unheld } = linesToMove(cur);
        const doc: ReservationDoc | null = await this.updateOneIf(
          { _id, state: cur.state, settlingSinceMs: { $exists: false } },
          {
            $set: {
              ...set,
              state: to,
              moving: lines,
              movedFrom: cur.state,
              settlingSinceMs: Date.now(),
              ...(unheld ? { unheld } : {}),
            },
          },
        );
        if (doc) return this.finishMoving(doc);
      }
    },

    async finishMoving(this: Deps, doc: ReservationDoc): Promise<ReservationDoc> {
      const from = doc.movedFrom!;
      for (const line of doc.moving) {
        const delta = stockDelta(from, doc.state, line.quantity);
        if (from === "committed") await this.returnSold(doc.orderId, line);
        else if (!doc.unheld) await this.unhold(doc.orderId, line, delta);
        else {
          await this.updateOneIf({ _id: line.productId, kind: "stock" }, { $inc: delta });
          await this.updateOneIf({ _id: doc._id }, { $pull: { moving: { productId: line.productId } } });
        }
      }
      const done: ReservationDoc | null = await this.updateOneIf(
        { _id: doc._id, settlingSinceMs: doc.settlingSinceMs },
        {
          $set: { moving: [] },
          $unset: { settlingSinceMs: true, movedFrom: true, unheld: true, taken: true },
        },
      );
      return done ?? this.adapter.findById(doc._id);
    },

    async dropOrphanHolds(this: Deps, doc: ReservationDoc): Promise<void> {
      if (!isOrphanHold(doc)) return;
      for (const line of doc.lines) await this.unhold(doc.orderId, line, giveBack(line.quantity));
    },

    async settled(this: Deps, orderId: string): Promise<ReservationDoc> {
      const deadline = Date.now() + DUPLICATE_WAIT_MS;
      for (;;) {
        const doc: ReservationDoc | null = await this.adapter.findById(reservationId(orderId));
        if (!doc) throw new Errors.MoleculerClientError("Not found", 404, "NOT_FOUND", { orderId });
        if (doc.state !== "pending" || Date.now() > deadline) return doc;
        await sleep(20);
      }
    },

    async sweep(this: Deps, nowMs = Date.now()): Promise<number> {
      return (
        (await this.finishSettlements(nowMs)) +
        (await this.sweepExpired(nowMs)) +
        (await this.reconcileHolds(nowMs))
      );
    },

    async sweepExpired(this: Deps, nowMs = Date.now()): Promise<number> {
      const due: ReservationDoc[] = await this.adapter.find({
        query: {
          kind: "reservation",
          state: { $in: SETTLEMENTS.expire.from },
          expiresAtMs: { $lt: nowMs },
        },
        limit: SWEEP_BATCH,
      });
      let swept = 0;
      for (const r of due) if (await this.settle(r.orderId, "expire")) swept++;
      return swept;
    },

    /** Settlements whose claimant stopped part-way (crash, store error). */
    async finishSettlements(this: Deps, nowMs: number): Promise<number> {
      const stuck: ReservationDoc[] = await this.adapter.find({
        query: { settlingSinceMs: { $lt: nowMs - RECOVERY_GRACE_MS } },
        limit: SWEEP_BATCH,
      });
      for (const r of stuck) await this.finishMoving(r);
      return stuck.length;
    },

    /**
     * Each hold past the grace is checked against its reservation, and given back when it belongs
     * to nothing. A checkout holds its stock for seconds, so a sweep reads few reservations: those
     * of stalled checkouts (until they expire) and orphans.
     */
    async reconcileHolds(this: Deps, nowMs: number): Promise<number> {
      const holding: StockDoc[] = await this.adapter.find({
        query: { kind: "stock", reserved: { $gt: 0 } },
        limit: 10 * SWEEP_BATCH,
      });
      let dropped = 0;
      for (const stock of holding)
        for (const hold of Object.values(stock.holds ?? {})) {
          if (hold.atMs > nowMs - RECOVERY_GRACE_MS) continue;
          const reservation: ReservationDoc | null = await this.adapter.findById(reservationId(hold.orderId));
          if (!isOrphanHold(reservation)) continue;
          const line = { productId: stock.productId, quantity: hold.quantity };
          await this.unhold(hold.orderId, line, giveBack(hold.quantity));
          dropped++;
        }
      return dropped;
    },
  },
};
