/**
 * The steps of the checkout saga, for the orders service (its plumbing, kept out of the service
 * file). `runStep` runs the order's current step once and moves it on with a compare-and-set on
 * (step, status), returning the updated order, or null when another driver moved it first.
 * Every call it makes is idempotent by order id, so running a step twice changes nothing twice.
 * Compensation sits beside the step it undoes: a declined charge releases the stock, a cancel
 * refunds and then returns the stock.
 */
import { Errors, type Context, type ServiceBroker, type ServiceSchema } from "moleculer";
import {
  Events,
  type EventEnvelope,
  type Payment,
  type Reservation,
  type ReservationLine,
} from "../contracts";
import { call } from "../lib/typed";
import { shortProducts, type OrderDoc } from "../domain/checkout";
import { ACTIVE_STEPS, afterCommit, transition } from "../domain/order-state";

type Via = Context | ServiceBroker;

export interface SagaMethods {
  /** Runs the order's remaining steps, from whatever step it is at. */
  drive(via: Via, orderId: string, resumed: boolean): Promise<OrderDoc>;
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

const lines = (d: OrderDoc): ReservationLine[] =>
  d.items.map(({ productId, quantity }) => ({ productId, quantity }));
const now = () => new Date().toISOString();
const transient = (message: string, type: string, data: object) =>
  new Errors.MoleculerRetryableError(message, 503, type, data);

export const OrderSagaMixin: ServiceSchema = {
  name: "",
  methods: {
    async runStep(this: any, via: Via, d: OrderDoc, resumed: boolean): Promise<OrderDoc | null> {
      const orderId = d._id;
      switch (d.step) {
        case "reserve": {
          let res: Reservation;
          try {
            res = await call(via, "inventory.reserve", { orderId, lines: lines(d) });
          } catch (err: any) {
            if (err?.type !== "INSUFFICIENT_STOCK") throw err;
            const levels = await call(via, "inventory.getMany", {
              productIds: lines(d).map((l) => l.productId),
            }).catch(() => []);
            const productIds = shortProducts(lines(d), err.data?.productId, levels);
            const failure = {
              status: 409 as const,
              type: "INSUFFICIENT_STOCK",
              message: "Insufficient stock",
              data: { productIds },
            };
            return this.advance(d, { step: "done", hidden: true, failure });
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
            return this.advance(d, { step: "done", hidden: true, failure });
          }
          const { userId, items, total, currency } = d;
          const placed = this.newEvent(Events.orderPlaced, orderId, {
            orderId,
            userId,
            items,
            total,
            currency,
          });
          return this.advance(d, { step: "charge" }, [placed]);
        }

        case "charge": {
          if (resumed) {
            // A stalled order may have outlived its reservation: charge only while the stock is held.
            const res = await call(via, "inventory.reserve", { orderId, lines: lines(d) }).catch((err) =>
              err?.type === "INSUFFICIENT_STOCK" ? null : Promise.reject(err),
            );
            if (res?.state !== "reserved") {
              const pay = await call(via, "payments.refund", { orderId });
              return this.failPayment(d, pay, "reservation_expired", "done");
            }
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
          if (pay.status !== "succeeded")
            return this.failPayment(d, pay, pay.reason ?? "declined", "release");
          const paid = this.newEvent(Events.orderPaid, orderId, {
            orderId,
            userId: d.userId,
            paymentId: pay.id,
            total: d.total,
            currency: d.currency,
          });
          const next = transition(d, "confirmed", now());
          return this.advance(
            d,
            { ...next, payment: { id: pay.id, status: pay.status }, step: "commit", paymentToken: "" },
            [paid],
          );
        }

        case "commit": {
          try {
            await call(via, "inventory.commit", { orderId });
          } catch (err: any) {
            if (err?.type !== "RESERVATION_NOT_ACTIVE") throw err;
            // Held past its TTL by a stalled saga, the stock went back: the sale is undone and refunded.
            const reason = "reservation_expired";
            const evt = this.newEvent(Events.orderCancelled, orderId, { orderId, userId: d.userId, reason });
            const failure = {
              status: 409 as const,
              type: "CHECKOUT_EXPIRED",
              message: "The checkout took too long and was refunded",
              data: { orderId },
            };
            return this.advance(
              d,
              { ...transition(d, "cancelled", now()), step: "cancel", reason, failure },
              [evt],
            );
          }
          return this.advance(d, { step: afterCommit(d.fromCart) });
        }

        // Only what was ordered leaves the cart: lines added since the order was priced stay.
        case "clearCart":
          await call(via, "carts.removeOrdered", { userId: d.userId, orderId, lines: lines(d) });
          return this.advance(d, { step: "done" });

        // Compensation of a declined charge: the stock goes back before the 402.
        case "release":
          await call(via, "inventory.release", { orderId });
          return this.advance(d, { step: "done" });

        // Compensation of a confirmed order: refund first, then return the stock (sold or held).
        case "cancel": {
          const pay = await call(via, "payments.refund", { orderId });
          await call(via, "inventory.release", { orderId });
          return this.advance(d, { step: "done", payment: { id: pay.id, status: pay.status } });
        }

        default:
          return d;
      }
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

    /** Moves the order on from the step and status it was read with, renewing the driver's lease. */
    async advance(this: any, d: OrderDoc, set: Partial<OrderDoc>, events: EventEnvelope[] = []) {
      // A finished order holds no lease: only running sagas stay in the (sparse) lease index.
      const lease =
        set.step === "done"
          ? { $unset: { leaseUntil: 1 } }
          : { $set: { leaseUntil: Date.now() + this.leaseMs } };
      const update = { ...lease, $set: { ...set, ...lease.$set, updatedAt: now() } };
      const done = await this.updateOneIf(
        { _id: d._id, step: d.step, status: d.status },
        events.length ? this.pushOutbox(update, events) : update,
      );
      if (done && set.status && set.status !== d.status)
        this.broker.metrics.increment("orders.total", { status: set.status });
      return done;
    },

    /** Runs the order's remaining steps; a failure leaves it claimable at once by a retry or recovery. */
    async drive(this: any, via: Via, orderId: string, resumed: boolean): Promise<OrderDoc> {
      let d: OrderDoc | null = await this.adapter.findById(orderId);
      try {
        while (d && d.step !== "done")
          d = (await this.runStep(via, d, resumed)) ?? (await this.adapter.findById(orderId));
      } catch (err) {
        await this.updateOneIf({ _id: orderId, step: { $ne: "done" } }, { $set: { leaseUntil: 0 } }).catch(
          () => null,
        );
        throw err;
      }
      if (!d) throw new Errors.MoleculerClientError("Order not found", 404, "NOT_FOUND", { id: orderId });
      this.flushSoon(orderId);
      return d;
    },

    /** Takes over an order whose lease ran out; of several claimants exactly one gets it. */
    claim(this: any, d: OrderDoc): Promise<OrderDoc | null> {
      return this.updateOneIf(
        { _id: d._id, step: d.step, leaseUntil: d.leaseUntil },
        { $set: { leaseUntil: Date.now() + this.leaseMs } },
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
          if (!(await this.claim(d))) continue;
          this.logger.info(`Recovering order ${d._id} left at step ${d.step}`);
          await this.drive(this.broker, d._id, true).catch((err: unknown) =>
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
