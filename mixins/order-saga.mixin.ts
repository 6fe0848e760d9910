/**
 * The steps of the checkout saga, for the orders service (its plumbing, kept out of the service
 * file). Each forward step sits beside its compensation in `STEPS`; the compensating saga steps
 * (`release` after a declined charge, `cancel` after a cancellation) run those undos, newest
 * first. Every call a step makes is idempotent by order id, so running a step twice changes
 * nothing twice.
 *
 * What must stay true:
 * - One driver at a time moves an order. A driver holds it by a lease (`leaseUntil`) under a
 *   fencing token (`leaseOwner`, a fresh id per claim); every compare-and-set of a driver
 *   (advance, heartbeat, giving the lease up after an error) names that token, so a driver that
 *   lost the order to another (it stalled, recovery claimed it) can no longer move it: its write
 *   fails, it re-reads, sees another owner and stops driving.
 * - The lease outlives any one call by a heartbeat, not by arithmetic: while a step runs, the
 *   driver extends `leaseUntil` every third of the lease (CAS on owner and step). So a call's
 *   worst case (broker retries x REQUEST_TIMEOUT_MS + the payment wait) needs no fit inside
 *   CHECKOUT_LEASE_SECONDS; only a driver that stops renewing (dead, partitioned from the store)
 *   loses its order, after one lease.
 * - A committed reservation means sold: nothing refunds it except a cancellation
 *   (domain/order-state.ts resumedCharge says what a resumed charge does for each state).
 */
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { Errors, type Context, type ServiceBroker, type ServiceSchema } from "moleculer";
import { Events, type EventEnvelope, type Payment, type ReservationLine } from "../contracts";
import { call } from "../lib/typed";
import { shortProducts, type OrderDoc } from "../domain/checkout";
import { ACTIVE_STEPS, afterCommit, resumedCharge, transition, type SagaStep } from "../domain/order-state";

type Via = Context | ServiceBroker;

export interface SagaMethods {
  /**
   * Runs the order's remaining steps while `owner` holds it; returns the order when it is done
   * or when another driver owns it now.
   */
  drive(via: Via, orderId: string, resumed: boolean, owner: string | undefined): Promise<OrderDoc>;
  /** Drives the order to its end, waiting for (or, once its lease ran out, taking over from) another owner. */
  driveToEnd(via: Via, orderId: string, resumed: boolean, owner: string | undefined): Promise<OrderDoc>;
  /** Takes over an order whose lease ran out, under a new fencing token; of several claimants one gets it. */
  claim(d: OrderDoc): Promise<OrderDoc | null>;
  /** Finishes or compensates orders whose driver stopped (lease run out); safe on every node. */
  recover(): Promise<void>;
  runStep(via: Via, d: OrderDoc, resumed: boolean): Promise<OrderDoc | null>;
  advance(d: OrderDoc, set: Partial<OrderDoc>, events?: EventEnvelope[]): Promise<OrderDoc | null>;
  failPayment(d: OrderDoc, pay: Payment, reason: string, next: "release" | "done"): Promise<OrderDoc | null>;
  flushSoon(id: string): void;
}

export interface SagaVars {
  leaseMs: number;
  recovering?: boolean;
}

/** How often a driver that waits for another owner looks at the order again. */
const FOLLOW_POLL_MS = 50;

const lines = (d: OrderDoc): ReservationLine[] =>
  d.items.map(({ productId, quantity }) => ({ productId, quantity }));
const now = () => new Date().toISOString();
const transient = (message: string, type: string, data: object) =>
  new Errors.MoleculerRetryableError(message, 503, type, data);
const notFound = (id: string) => new Errors.MoleculerClientError("Order not found", 404, "NOT_FOUND", { id });

type ForwardStep = "reserve" | "charge" | "commit" | "clearCart";
/** The orders service, as a step sees it. */
type Saga = SagaMethods & { newEvent: (...args: any[]) => EventEnvelope };
interface Step {
  /** Runs the step once and moves the order on; null when the order changed under it. */
  run(saga: Saga, via: Via, d: OrderDoc, resumed: boolean): Promise<OrderDoc | null>;
  /** Undoes what `run` did (idempotent); the fields to store with the compensated order. */
  undo?(saga: Saga, via: Via, d: OrderDoc): Promise<Partial<OrderDoc>>;
}

const refund = async (via: Via, orderId: string) => call(via, "payments.refund", { orderId });

const STEPS: Record<ForwardStep, Step> = {
  reserve: {
    async run(saga, via, d) {
      const orderId = d._id;
      const res = await call(via, "inventory.reserve", { orderId, lines: lines(d) }).catch(async (err) => {
        if (err?.type !== "INSUFFICIENT_STOCK") throw err;
        const levels = await call(via, "inventory.getMany", {
          productIds: lines(d).map((l) => l.productId),
        }).catch(() => []);
        return { refused: shortProducts(lines(d), err.data?.productId, levels) };
      });
      if ("refused" in res) {
        const data = { productIds: res.refused };
        const failure = {
          status: 409 as const,
          type: "INSUFFICIENT_STOCK",
          message: "Insufficient stock",
          data,
        };
        return saga.advance(d, { step: "done", hidden: true, failure });
      }
      if (res.state === "pending")
        throw transient("Stock is still being reserved", "RESERVATION_PENDING", { orderId });
      if (res.state !== "reserved") {
        const failure = {
          status: 409 as const,
          type: "CHECKOUT_EXPIRED",
          message: "The checkout took too long; nothing was charged",
          data: { orderId },
        };
        return saga.advance(d, { step: "done", hidden: true, failure });
      }
      const { userId, items, total, currency } = d;
      const placed = saga.newEvent(Events.orderPlaced, orderId, { orderId, userId, items, total, currency });
      return saga.advance(d, { step: "charge" }, [placed]);
    },
    async undo(_saga, via, d) {
      await call(via, "inventory.release", { orderId: d._id });
      return {};
    },
  },

  charge: {
    async run(saga, via, d, resumed) {
      const orderId = d._id;
      if (resumed) {
        // A stalled order may have outlived its reservation: charge only while the stock is held or sold.
        const res = await call(via, "inventory.reserve", { orderId, lines: lines(d) }).catch((err) =>
          err?.type === "INSUFFICIENT_STOCK" ? null : Promise.reject(err),
        );
        const next = resumedCharge(res?.state ?? null);
        if (next === "wait")
          throw transient("Stock is still being reserved", "RESERVATION_PENDING", { orderId });
        if (next === "refund")
          return saga.failPayment(d, await refund(via, orderId), "reservation_expired", "done");
      }
      const pay = await call(via, "payments.charge", {
        orderId,
        userId: d.userId,
        amount: d.total,
        currency: d.currency,
        token: d.paymentToken,
      });
      if (pay.status === "processing")
        throw transient("The payment is being processed", "PAYMENT_IN_PROGRESS", { orderId });
      if (pay.status !== "succeeded") return saga.failPayment(d, pay, pay.reason ?? "declined", "release");
      const paid = saga.newEvent(Events.orderPaid, orderId, {
        orderId,
        userId: d.userId,
        paymentId: pay.id,
        total: d.total,
        currency: d.currency,
      });
      const confirmed = transition(d, "confirmed", now());
      const payment = { id: pay.id, status: pay.status };
      return saga.advance(d, { ...confirmed, payment, step: "commit", paymentToken: "" }, [paid]);
    },
    async undo(_saga, via, d) {
      const pay = await refund(via, d._id);
      return { payment: { id: pay.id, status: pay.status } };
    },
  },

  commit: {
    async run(saga, via, d) {
      const orderId = d._id;
      try {
        await call(via, "inventory.commit", { orderId });
      } catch (err: any) {
        if (err?.type !== "RESERVATION_NOT_ACTIVE") throw err;
        // Held past its TTL by a stalled saga, the stock went back: the sale is undone and refunded.
        const reason = "reservation_expired";
        const evt = saga.newEvent(Events.orderCancelled, orderId, { orderId, userId: d.userId, reason });
        const failure = {
          status: 409 as const,
          type: "CHECKOUT_EXPIRED",
          message: "The checkout took too long and was refunded",
          data: { orderId },
        };
        const cancelled = transition(d, "cancelled", now());
        return saga.advance(d, { ...cancelled, step: "cancel", reason, failure }, [evt]);
      }
      return saga.advance(d, { step: afterCommit(d.fromCart) });
    },
  },

  clearCart: {
    // Only what was ordered leaves the cart: lines added since the order was priced stay.
    async run(saga, via, d) {
      await call(via, "carts.removeOrdered", { userId: d.userId, orderId: d._id, lines: lines(d) });
      return saga.advance(d, { step: "done" });
    },
  },
};

/** The compensating steps: the undos each runs, newest first. */
const COMPENSATIONS: Record<Exclude<SagaStep, ForwardStep | "done">, ForwardStep[]> = {
  // A declined charge: the stock goes back before the 402.
  release: ["reserve"],
  // A cancelled order: refund first, then return the stock (sold or held).
  cancel: ["charge", "reserve"],
};

const isForward = (step: SagaStep): step is ForwardStep => step in STEPS;

export const OrderSagaMixin: ServiceSchema = {
  name: "",
  methods: {
    async runStep(this: any, via: Via, d: OrderDoc, resumed: boolean): Promise<OrderDoc | null> {
      if (d.step === "done") return d;
      if (isForward(d.step)) return STEPS[d.step].run(this, via, d, resumed);
      let set: Partial<OrderDoc> = {};
      for (const step of COMPENSATIONS[d.step]) set = { ...set, ...(await STEPS[step].undo!(this, via, d)) };
      return this.advance(d, { ...set, step: "done" });
    },

    async failPayment(this: any, d: OrderDoc, pay: Payment, reason: string, next: "release" | "done") {
      const evt = this.newEvent(Events.orderPaymentFailed, d._id, {
        orderId: d._id,
        userId: d.userId,
        reason,
      });
      const set = {
        ...transition(d, "payment_failed", now()),
        payment: { id: pay.id, status: pay.status },
        reason,
      };
      return this.advance(d, { ...set, step: next, paymentToken: "" }, [evt]);
    },

    /**
     * Moves the order on from the step and status it was read with, renewing the lease, if the
     * driver that read it (`d.leaseOwner`) still holds it.
     */
    async advance(this: any, d: OrderDoc, set: Partial<OrderDoc>, events: EventEnvelope[] = []) {
      // A finished order holds no lease: only running sagas stay in the (sparse) lease index.
      const lease =
        set.step === "done"
          ? { $unset: { leaseUntil: 1 } }
          : { $set: { leaseUntil: Date.now() + this.leaseMs } };
      const update = { ...lease, $set: { ...set, ...lease.$set, updatedAt: now() } };
      const done = await this.updateOneIf(
        { _id: d._id, step: d.step, status: d.status, leaseOwner: d.leaseOwner },
        events.length ? this.pushOutbox(update, events) : update,
      );
      if (done && set.status && set.status !== d.status)
        this.broker.metrics.increment("orders.total", { status: set.status });
      return done;
    },

    async drive(this: any, via: Via, orderId: string, resumed: boolean, owner: string | undefined) {
      let d: OrderDoc | null = await this.adapter.findById(orderId);
      while (d && d.step !== "done" && owner !== undefined && d.leaseOwner === owner) {
        const step = d.step;
        // The heartbeat: the lease outlives however long this step's calls take.
        const renew = setInterval(
          () =>
            void this.updateOneIf(
              { _id: orderId, step, leaseOwner: owner },
              { $set: { leaseUntil: Date.now() + this.leaseMs } },
            ).catch(() => null),
          Math.max(1, Math.floor(this.leaseMs / 3)),
        );
        try {
          d = (await this.runStep(via, d, resumed)) ?? (await this.adapter.findById(orderId));
        } catch (err) {
          // Free at once for a retry or recovery, but only while this driver still holds it.
          await this.updateOneIf(
            { _id: orderId, leaseOwner: owner, step: { $ne: "done" } },
            { $set: { leaseUntil: 0 } },
          ).catch(() => null);
          throw err;
        } finally {
          clearInterval(renew);
        }
      }
      if (!d) throw notFound(orderId);
      this.flushSoon(orderId);
      return d;
    },

    async driveToEnd(this: any, via: Via, orderId: string, resumed: boolean, owner: string | undefined) {
      let d: OrderDoc | null = await this.drive(via, orderId, resumed, owner);
      while (d && d.step !== "done") {
        const taken: OrderDoc | null = (d.leaseUntil ?? 0) < Date.now() ? await this.claim(d) : null;
        if (taken) d = await this.drive(via, orderId, true, taken.leaseOwner);
        else {
          await sleep(FOLLOW_POLL_MS);
          d = await this.adapter.findById(orderId);
        }
      }
      if (!d) throw notFound(orderId);
      return d;
    },

    claim(this: any, d: OrderDoc): Promise<OrderDoc | null> {
      return this.updateOneIf(
        { _id: d._id, step: d.step, leaseUntil: d.leaseUntil },
        { $set: { leaseUntil: Date.now() + this.leaseMs, leaseOwner: randomUUID() } },
      );
    },

    async recover(this: any): Promise<void> {
      if (this.recovering) return;
      this.recovering = true;
      try {
        const needed = ["inventory", "payments", "carts"];
        if (!needed.every((s) => this.broker.registry.actions.isAvailable(`${s}.health`))) return;
        const due: OrderDoc[] = await this.adapter.find({
          query: { leaseUntil: { $lt: Date.now() }, step: { $in: [...ACTIVE_STEPS] } },
          limit: 50,
        });
        for (const d of due) {
          const mine: OrderDoc | null = await this.claim(d);
          if (!mine) continue;
          this.logger.info(`Recovering order ${d._id} left at step ${d.step}`);
          await this.drive(this.broker, d._id, true, mine.leaseOwner).catch((err: unknown) =>
            this.logger.warn(`Recovery of order ${d._id} failed; will retry.`, String(err)),
          );
        }
      } catch (err) {
        this.logger.warn("Order recovery failed; will retry.", String(err));
      } finally {
        this.recovering = false;
      }
    },
  },
};
