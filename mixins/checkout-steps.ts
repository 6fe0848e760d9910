/**
 * The checkout saga's steps as a table, each forward step beside its compensation (Medusa's
 * createStep(id, invoke, compensate)); the compensating saga steps (`release` after a declined
 * charge, `cancel` after a cancellation) run those undos, newest first. Every call a step makes
 * is idempotent by order id, so running a step twice changes nothing twice. Leases, fencing and
 * recovery are in order-saga.mixin.ts.
 */
import { Errors, type Context, type ServiceBroker } from "moleculer";
import { Events, type EventEnvelope, type Payment, type ReservationLine } from "../contracts";
import { call } from "../lib/typed";
import {
  pricingView,
  reservationLines,
  shortProducts,
  shortageData,
  type OrderDoc,
} from "../domain/checkout";
import { RESTING_STEPS, afterCommit, resumedCharge, transition, type SagaStep } from "../domain/order-state";
import { RISK_STEP, type RiskSaga } from "./risk-step";

export type Via = Context | ServiceBroker;

/** The orders service, as a step sees it. */
export interface Saga extends RiskSaga {
  advance(d: OrderDoc, set: Partial<OrderDoc>, events?: EventEnvelope[]): Promise<OrderDoc | null>;
  failPayment(d: OrderDoc, pay: Payment, reason: string, next: "release" | "done"): Promise<OrderDoc | null>;
  newEvent: (...args: any[]) => EventEnvelope;
}

/** Stock is per variant: each line reserves under its variant id. */
const lines = (d: OrderDoc): ReservationLine[] => reservationLines(d.items);
export const now = () => new Date().toISOString();
const transient = (message: string, type: string, data: object) =>
  new Errors.MoleculerRetryableError(message, 503, type, data);

type ForwardStep = "promotion" | "reserve" | "risk" | "charge" | "commit" | "clearCart";
export interface Step {
  /** Runs the step once and moves the order on; null when the order changed under it. */
  run(saga: Saga, via: Via, d: OrderDoc, resumed: boolean): Promise<OrderDoc | null>;
  /** Undoes what `run` did (idempotent); the fields to store with the compensated order. */
  undo?(saga: Saga, via: Via, d: OrderDoc): Promise<Partial<OrderDoc>>;
}

const refund = async (via: Via, orderId: string) => call(via, "payments.refund", { orderId });

/** After a refusal: done, or first give a counted promotion use back (the release step). */
const refusedStep = (d: OrderDoc) => (d.promotionId ? "release" : "done");

const STEPS: Record<ForwardStep, Step> = {
  // Counted atomically before any stock is held: past the code's limit nothing is reserved or charged.
  promotion: {
    async run(saga, via, d) {
      if (!d.promotionId) return saga.advance(d, { step: "reserve" });
      const { counted } = await call(via, "pricing.redeem", {
        promotionId: d.promotionId,
        orderId: d._id,
        customerKey: d.customerKey!,
      });
      if (counted) return saga.advance(d, { step: "reserve" });
      const failure = {
        status: 409 as const,
        type: "PROMOTION_EXHAUSTED",
        message: "This promotion has been used up",
        data: { field: "promotionCode", code: d.promotionCode },
      };
      return saga.advance(d, { step: "done", hidden: true, failure });
    },
    async undo(_saga, via, d) {
      if (d.promotionId) await call(via, "pricing.release", { orderId: d._id });
      return {};
    },
  },

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
        const failure = {
          status: 409 as const,
          type: "INSUFFICIENT_STOCK",
          message: "Insufficient stock",
          data: shortageData(d.items, res.refused),
        };
        return saga.advance(d, { step: refusedStep(d), hidden: true, failure });
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
        return saga.advance(d, { step: refusedStep(d), hidden: true, failure });
      }
      const { userId, items, total, currency, subtotal } = d;
      const { discountTotal, shippingTotal, taxTotal } = pricingView(d);
      const placed = saga.newEvent(Events.orderPlaced, orderId, {
        ...{ orderId, userId, items, total, currency },
        ...{ subtotal, discountTotal, shippingTotal, taxTotal },
      });
      return saga.advance(d, { step: "risk" }, [placed]);
    },
    async undo(_saga, via, d) {
      await call(via, "inventory.release", { orderId: d._id });
      return {};
    },
  },

  // Scored before the charge; may hold the order for review (risk-step.ts).
  risk: RISK_STEP,

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
        userId: d.userId ?? "guest",
        amount: d.total,
        currency: d.currency,
        token: d.paymentToken,
      });
      if (pay.status === "processing")
        throw transient("The payment is being processed", "PAYMENT_IN_PROGRESS", { orderId });
      if (pay.status === "requires_action") {
        // Parked until the provider's webhook or the client's confirmation settles the payment.
        const waiting = transition(d, "requires_action", now());
        const payment = { id: pay.id, status: pay.status, clientSecret: pay.clientSecret ?? "" };
        return saga.advance(d, { ...waiting, payment, step: "awaitPayment", paymentToken: "" });
      }
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
      // The refund gave back total − refundedTotal: the whole charge is refunded now.
      const refunded = pay.status === "refunded" ? { refundedTotal: d.total } : {};
      return { payment: { id: pay.id, status: pay.status }, ...refunded };
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
      const ordered = d.items.map(({ productId, variantId, quantity }) => ({
        productId,
        variantId,
        quantity,
      }));
      await call(via, "carts.removeOrdered", {
        userId: d.cartId ?? d.userId!,
        orderId: d._id,
        lines: ordered,
      });
      return saga.advance(d, { step: "done" });
    },
  },
};

/** The compensating steps: the undos each runs, newest first. */
const COMPENSATIONS: Record<Exclude<SagaStep, ForwardStep | "done" | "awaitPayment">, ForwardStep[]> = {
  // A declined charge (or stock refused after a code's use was counted): the stock and the use go back.
  release: ["reserve", "promotion"],
  // A cancelled order: refund first, then return the stock (sold or held), then the code's use.
  cancel: ["charge", "reserve", "promotion"],
};

const isForward = (step: SagaStep): step is ForwardStep => step in STEPS;

/** Runs the order's current step once; null when the order changed under it. */
export async function runStep(saga: Saga, via: Via, d: OrderDoc, resumed: boolean): Promise<OrderDoc | null> {
  if (RESTING_STEPS.includes(d.step)) return d;
  if (isForward(d.step)) return STEPS[d.step].run(saga, via, d, resumed);
  let set: Partial<OrderDoc> = {};
  for (const step of COMPENSATIONS[d.step as keyof typeof COMPENSATIONS])
    set = { ...set, ...(await STEPS[step].undo!(saga, via, d)) };
  return saga.advance(d, { ...set, step: "done" });
}
