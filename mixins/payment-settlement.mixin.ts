/**
 * The payments service's provider-facing actions beyond the capture: partial refunds, Stripe's
 * webhook and the client's confirmation after 3-D Secure.
 *
 * What must stay true:
 * - A payment waiting for the customer (`requires_action`) is settled by exactly one compare-
 *   and-set on its status, whoever comes first: Stripe's webhook (however often, however late,
 *   in whatever order its events arrive) or `sync` (the client came back). The winner's write
 *   carries the payment.succeeded / payment.failed event; every other arrival changes nothing.
 * - A partial refund is applied once per refund id, and never past what was captured: the
 *   payment's `refundedAmount` rises only by a conditional update that checks the rest.
 */
import { Errors, type Context, type ServiceSchema } from "moleculer";
import type { Meta, Payment, RefundStatus } from "../contracts";
import { stripeEventEffect, paymentView, type PaymentDoc, type PaymentProvider } from "../domain/payments";
import { StripeProvider } from "../lib/payment-providers";

const ID = { type: "string", min: 1, max: 100 } as const;
const clientError = (message: string, code: number, type: string, data: object = {}) =>
  new Errors.MoleculerClientError(message, code, type, data);

export const PaymentSettlementMixin: ServiceSchema = {
  name: "",
  actions: {
    refundPart: {
      visibility: "public",
      params: {
        $$strict: true,
        orderId: ID,
        refundId: ID,
        amount: { type: "number", integer: true, min: 1, max: Number.MAX_SAFE_INTEGER },
      },
      async handler(
        this: any,
        ctx: Context<{ orderId: string; refundId: string; amount: number }, Meta>,
      ): Promise<{ refundId: string; status: RefundStatus; amount: number }> {
        const { orderId, refundId, amount } = ctx.params;
        const doc: PaymentDoc | null = await this.adapter.findOne({ orderId });
        if (!doc || doc.status !== "succeeded")
          throw clientError("The order's payment is not captured", 409, "PAYMENT_NOT_CAPTURED", { orderId });
        // Counted first (conditionally), then asked of the provider: never past what was captured.
        if (!doc.refunds?.some((r) => r.id === refundId)) {
          const counted = await this.updateOneIf(
            {
              _id: doc._id,
              status: "succeeded",
              "refunds.id": { $ne: refundId },
              $or: [
                { refundedAmount: { $lte: doc.amount - amount } },
                { refundedAmount: { $exists: false } },
              ],
            },
            { $inc: { refundedAmount: amount }, $push: { refunds: { id: refundId, amount } } },
          );
          if (!counted && !(await this.adapter.findOne({ orderId, "refunds.id": refundId })))
            throw clientError("The refund is more than the payment has left", 409, "REFUND_EXCEEDS_PAYMENT", {
              orderId,
            });
        }
        const provider: PaymentProvider = this.provider;
        // The provider key is the refund id: a retry (after a lost answer, a crash) refunds once.
        const res = await provider.refund({
          idempotencyKey: `refund:${refundId}`,
          chargeId: doc.chargeId!,
          amount,
          currency: doc.currency,
        });
        if (res.status === "failed")
          await this.updateOneIf(
            { _id: doc._id, "refunds.id": refundId },
            { $inc: { refundedAmount: -amount }, $pull: { refunds: { id: refundId } } },
          );
        return { refundId, status: res.status, amount };
      },
    },

    sync: {
      visibility: "public",
      params: { $$strict: true, orderId: ID },
      async handler(this: any, ctx: Context<{ orderId: string }, Meta>): Promise<Payment> {
        const doc: PaymentDoc | null = await this.adapter.findOne({ orderId: ctx.params.orderId });
        if (!doc) throw clientError("Payment not found", 404, "NOT_FOUND", { orderId: ctx.params.orderId });
        const provider: PaymentProvider = this.provider;
        if (doc.status !== "requires_action" || !provider.retrieve || !doc.chargeId) return paymentView(doc);
        const now = await provider.retrieve(doc.chargeId);
        if (now.status === "requires_action") return paymentView(doc);
        const reason = now.status === "failed" ? now.reason : undefined;
        return paymentView(
          (await this.settle(doc, now.status, reason, null)) ?? (await this.adapter.findById(doc._id)),
        );
      },
    },

    stripeWebhook: {
      // A Stripe event carries many more fields (not strict); what counts is its signature.
      params: {
        id: { type: "string", min: 1, max: 255 },
        type: { type: "string", min: 1, max: 255 },
        data: { type: "object" },
      },
      async handler(this: any, ctx: Context<unknown, Meta>): Promise<{ received: true; applied: boolean }> {
        if (!ctx.meta.webhook?.signature)
          throw clientError("Missing Stripe-Signature", 400, "INVALID_SIGNATURE");
        if (!(this.provider instanceof StripeProvider))
          throw clientError("PAYMENT_PROVIDER is not stripe", 404, "NOT_FOUND");
        const raw = Buffer.from(ctx.meta.webhook?.rawBody ?? "", "base64");
        let event: any;
        try {
          event = this.provider.verifyWebhook(raw, ctx.meta.webhook?.signature);
        } catch (err: any) {
          throw clientError(`Invalid Stripe signature: ${err?.message ?? err}`, 400, "INVALID_SIGNATURE");
        }
        const to = stripeEventEffect(event.type);
        const intent = event.data?.object;
        if (!to || typeof intent?.id !== "string") return { received: true, applied: false };
        const doc: PaymentDoc | null = await this.adapter.findOne({ chargeId: intent.id });
        if (!doc) throw clientError("Payment not found", 404, "NOT_FOUND", { chargeId: intent.id });
        const reason = to === "failed" ? (intent.last_payment_error?.code ?? "payment_failed") : undefined;
        const hook = { id: event.id, type: event.type };
        // Paid after we gave up on it (the customer retried 3-D Secure after a failure): the
        // order is gone, so the money goes back, once (idempotency key of the payment).
        if (to === "succeeded" && doc.status === "failed")
          return { received: true, applied: await this.giveBack(doc, hook) };
        const done = await this.settle(doc, to, reason, hook);
        return { received: true, applied: Boolean(done) };
      },
    },
  },

  methods: {
    async giveBack(this: any, doc: PaymentDoc, webhook: { id: string; type: string }): Promise<boolean> {
      const provider: PaymentProvider = this.provider;
      const { refundId } = await provider.refund({
        idempotencyKey: `refund:${doc._id}`,
        chargeId: doc.chargeId!,
        amount: doc.amount,
        currency: doc.currency,
      });
      const push = { webhooks: { ...webhook, at: new Date().toISOString() } };
      return Boolean(await this.move(doc, "refunded", { refundId, refundedAmount: doc.amount }, push));
    },

    /**
     * The one state change of a payment awaiting its outcome (also a capture still `processing`
     * whose answer the webhook beat). Null when it was settled already: nothing changes twice.
     */
    async settle(
      this: any,
      doc: PaymentDoc,
      to: "succeeded" | "failed",
      reason: string | undefined,
      webhook: { id: string; type: string } | null,
    ): Promise<PaymentDoc | null> {
      if (doc.status !== "requires_action" && doc.status !== "processing") return null;
      const set = to === "failed" ? { reason: reason ?? "declined" } : {};
      const push = webhook ? { webhooks: { ...webhook, at: new Date().toISOString() } } : {};
      return this.move(doc, to, set, push);
    },
  },
};
