/**
 * The checkout saga's driving, for the orders service (its plumbing, kept out of the service
 * file): who may run an order's steps, and recovery of orders whose driver stopped. The steps
 * themselves, each beside its compensation, are in checkout-steps.ts.
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
import { Errors, type ServiceSchema } from "moleculer";
import { Events, type EventEnvelope, type Payment } from "../contracts";
import type { OrderDoc } from "../domain/checkout";
import { ACTIVE_STEPS, RESTING_STEPS, transition } from "../domain/order-state";
import { now, runStep, type Via } from "./checkout-steps";

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

const notFound = (id: string) => new Errors.MoleculerClientError("Order not found", 404, "NOT_FOUND", { id });

export const OrderSagaMixin: ServiceSchema = {
  name: "",
  methods: {
    runStep(this: any, via: Via, d: OrderDoc, resumed: boolean): Promise<OrderDoc | null> {
      return runStep(this, via, d, resumed);
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
        set.step && RESTING_STEPS.includes(set.step)
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
      while (d && !RESTING_STEPS.includes(d.step) && owner !== undefined && d.leaseOwner === owner) {
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
            { _id: orderId, leaseOwner: owner, step: { $nin: RESTING_STEPS } },
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
      while (d && !RESTING_STEPS.includes(d.step)) {
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
