/**
 * Partial refunds of an order (API.md "Refunds and returns"), and the settlement of an order
 * whose payment waited for the customer (3-D Secure), for the orders service.
 *
 * What must stay true:
 * - `refundedTotal` never exceeds `total`, however many refunds run at once on however many
 *   nodes: a refund is counted by one conditional update of the order (`refundedTotal ≤ total −
 *   amount` in the filter, `$inc` in the update), before any money moves; a refused update is a
 *   422 and nothing was asked of the provider. Read-modify-write would let two refunds both see
 *   room for themselves.
 * - Each refund id is counted once (`refundIds`), so a retried refund is not counted twice.
 * - An order in `requires_action` moves on exactly once: the compare-and-set from that status
 *   is the one change, whether payment.succeeded / payment.failed (Stripe's webhook) or the
 *   client's own confirmation (GET of the order, which asks payments to sync) comes first.
 */
import { randomUUID } from "node:crypto";
import type { Context, ServiceSchema } from "moleculer";
import {
  Events,
  type EventEnvelope,
  type Meta,
  type Payment,
  type Refund,
  type RefundStatus,
} from "../contracts";
import { call } from "../lib/typed";
import { transition } from "../domain/order-state";
import { PAID_STATUSES, amountsOf, checkRefund, refundTooLarge } from "../domain/refunds";
import type { OrderDoc } from "../domain/checkout";
import { now, type Via } from "./checkout-steps";

const ID = { type: "string", min: 1, max: 100 } as const;

/** A refund as stored beside its order (same collection, `kind: "refund"`). */
export interface RefundDoc {
  _id: string;
  kind: "refund";
  orderId: string;
  userId: string | null;
  amount: number;
  currency: string;
  reason: string;
  status: RefundStatus;
  createdAt: string;
  updatedAt: string;
}

export const refundView = (r: RefundDoc): Refund => ({
  id: r._id,
  orderId: r.orderId,
  amount: r.amount,
  reason: r.reason,
  status: r.status,
  createdAt: r.createdAt,
});

export interface RefundMethods {
  /** Counts and makes one refund of the order; idempotent by refundId. */
  refundOrder(via: Via, d: OrderDoc, amount: number, reason: string, refundId: string): Promise<RefundDoc>;
  /** An order in requires_action as it stands once payments asked the provider (the client came back). */
  synced(via: Via, d: OrderDoc): Promise<OrderDoc>;
  /** Moves an order out of requires_action by its payment's outcome; null if it was moved already. */
  settleOrder(via: Via, orderId: string, pay: Payment): Promise<OrderDoc | null>;
}

/** Durable subscriptions (@moleculer/channels reads `channels`, which moleculer's types don't know). */
export const OrderRefundsMixin: ServiceSchema & { channels: Record<string, object> } = {
  name: "",
  actions: {
    refund: {
      auth: "admin",
      params: {
        $$strict: true,
        id: ID,
        amount: { type: "number", integer: true, min: 1, max: Number.MAX_SAFE_INTEGER },
        reason: { type: "string", trim: true, min: 1, max: 500 },
      },
      async handler(this: any, ctx: Context<{ id: string; amount: number; reason: string }, Meta>) {
        const d: OrderDoc = await this.own(ctx, ctx.params.id);
        const refund: RefundDoc = await this.refundOrder(
          ctx,
          d,
          ctx.params.amount,
          ctx.params.reason,
          `ref_${randomUUID()}`,
        );
        ctx.meta.$statusCode = 201;
        return refundView(refund);
      },
    },
  },

  channels: {
    [Events.paymentSucceeded]: {
      group: "orders",
      async handler(this: any, ctx: Context<EventEnvelope<"payment.succeeded">>) {
        await this.settleFromEvent(ctx.params.data.orderId);
      },
    },
    [Events.paymentFailed]: {
      group: "orders",
      async handler(this: any, ctx: Context<EventEnvelope<"payment.failed">>) {
        await this.settleFromEvent(ctx.params.data.orderId);
      },
    },
  },

  methods: {
    async refundOrder(this: any, via: Via, d: OrderDoc, amount: number, reason: string, refundId: string) {
      // A retry of a refund already counted is not checked against the rest again.
      if (!d.refundIds?.includes(refundId)) checkRefund(d.status, amountsOf(d), amount);
      const counted = await this.updateOneIf(
        {
          _id: d._id,
          status: { $in: [...PAID_STATUSES] },
          refundIds: { $ne: refundId },
          $or: [{ refundedTotal: { $lte: d.total - amount } }, { refundedTotal: { $exists: false } }],
        },
        { $inc: { refundedTotal: amount }, $push: { refundIds: refundId }, $set: { updatedAt: now() } },
      );
      if (!counted) {
        const fresh: OrderDoc = await this.adapter.findById(d._id);
        if (!fresh?.refundIds?.includes(refundId)) {
          checkRefund(fresh.status, amountsOf(fresh), amount);
          throw refundTooLarge(amountsOf(fresh));
        }
      }
      const at = now();
      const doc: RefundDoc = {
        _id: refundId,
        kind: "refund",
        orderId: d._id,
        userId: d.userId,
        amount,
        currency: d.currency,
        reason,
        status: "pending",
        createdAt: at,
        updatedAt: at,
      };
      await this.adapter.insert(doc).catch(() => null); // a retry finds it there
      let status: RefundStatus;
      try {
        status = (await call(via, "payments.refundPart", { orderId: d._id, refundId, amount })).status;
      } catch (err: any) {
        // The payment refused it (not captured, nothing left): nothing moved, give the amount back.
        if (err?.code !== 409) throw err; // otherwise it stays pending and counted: never over the total
        status = "failed";
      }
      if (status === "failed")
        await this.updateOneIf(
          { _id: d._id, refundIds: refundId },
          { $inc: { refundedTotal: -amount }, $pull: { refundIds: refundId } },
        );
      const events =
        status === "failed"
          ? []
          : [
              this.newEvent(Events.orderRefunded, d._id, {
                orderId: d._id,
                userId: d.userId,
                refundId,
                amount,
                currency: d.currency,
              }),
            ];
      const update = { $set: { status, updatedAt: now() } };
      const done = await this.updateOneIf(
        { _id: refundId, status: "pending" },
        events.length ? this.pushOutbox(update, events) : update,
      );
      if (done) this.flushSoon(refundId);
      return done ?? (await this.adapter.findById(refundId));
    },

    async synced(this: any, via: Via, d: OrderDoc): Promise<OrderDoc> {
      if (d.status !== "requires_action") return d;
      const pay = await call(via, "payments.sync", { orderId: d._id });
      return (await this.settleOrder(via, d._id, pay)) ?? (await this.adapter.findById(d._id));
    },

    async settleFromEvent(this: any, orderId: string) {
      const d: OrderDoc | null = await this.adapter.findById(orderId);
      if (d?.status !== "requires_action") return;
      const pay = await call(this.broker, "payments.get", { orderId });
      await this.settleOrder(this.broker, orderId, pay);
    },

    async settleOrder(this: any, via: Via, orderId: string, pay: Payment) {
      if (pay.status !== "succeeded" && pay.status !== "failed") return null;
      const d: OrderDoc | null = await this.adapter.findById(orderId);
      if (!d || d.status !== "requires_action" || d.step !== "awaitPayment") return null;
      const owner = randomUUID();
      const lease = { leaseOwner: owner, leaseUntil: Date.now() + this.leaseMs };
      const payment = { id: pay.id, status: pay.status };
      const at = now();
      let set: Partial<OrderDoc>;
      let evt: EventEnvelope;
      if (pay.status === "succeeded") {
        set = { ...transition(d, "confirmed", at), payment, step: "commit" };
        evt = this.newEvent(Events.orderPaid, orderId, {
          orderId,
          userId: d.userId,
          paymentId: pay.id,
          total: d.total,
          currency: d.currency,
        });
      } else {
        const reason = pay.reason ?? "declined";
        set = { ...transition(d, "payment_failed", at), payment, step: "release", reason };
        evt = this.newEvent(Events.orderPaymentFailed, orderId, { orderId, userId: d.userId, reason });
      }
      // The one change: of every arrival (webhooks, the client's sync), one finds requires_action.
      const moved = await this.updateOneIf(
        { _id: orderId, status: "requires_action", step: "awaitPayment" },
        this.pushOutbox({ $set: { ...set, ...lease, updatedAt: at } }, [evt]),
      );
      if (!moved) return null;
      this.broker.metrics.increment("orders.total", { status: set.status });
      // Commit the stock (or release it) now; recovery finishes it after a crash.
      return this.driveToEnd(via, orderId, false, owner);
    },
  },
};
