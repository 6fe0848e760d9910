/**
 * Payments: one payment per order (unique index on orderId), captured through a provider at most
 * once. The insert of the payment is the lock: of concurrent charges for one order, only the
 * inserter captures; the others wait for its result. A capture left half-done by a crash is
 * finished by whoever asks after its lease ran out, with the same provider idempotency key.
 * Asynchronous provider updates arrive signed at POST /api/payments/webhook.
 */
import { Errors, type Context, type ServiceSchema, type ServiceSettingSchema } from "moleculer";
import { Events, type Meta, type Payment, type PaymentStatus } from "../contracts";
import { config } from "../lib/config";
import { generatedWebhookSecret } from "../lib/generated-secret";
import { DbMixin, type DbMethods, type DbVars } from "../mixins/db.mixin";
import { OutboxMixin, type OutboxMethods } from "../mixins/outbox.mixin";
import { isDuplicateKey } from "../domain/catalog";
import { providerFor } from "../lib/payment-providers";
import { PaymentSettlementMixin } from "../mixins/payment-settlement.mixin";
import {
  chargeKey,
  WEBHOOK_EFFECTS,
  WEBHOOK_TOLERANCE_SECONDS,
  WEBHOOK_TYPES,
  checkWebhookSignature,
  newPayment,
  paymentView,
  type PaymentDoc,
  type PaymentProvider,
  type WebhookType,
} from "../domain/payments";
import { setTimeout as sleep } from "node:timers/promises";

/** How long a duplicate charge waits for the first one's capture before answering 503. */
const WAIT_MS = 8000;
const ID = { type: "string", min: 1, max: 100 } as const;

type ChargeParams = { orderId: string; userId: string; amount: number; currency: string; token: string };
type WebhookParams = { id: string; type: WebhookType; data: { chargeId: string; reason?: string } };

type Store = DbVars & {
  provider: PaymentProvider;
  leaseMs: number;
  secret: string;
};
interface Methods extends DbMethods, OutboxMethods {
  byOrder(orderId: string): Promise<PaymentDoc | null>;
  settled(orderId: string): Promise<PaymentDoc>;
  capture(doc: PaymentDoc): Promise<PaymentDoc>;
  move(
    doc: PaymentDoc,
    to: PaymentStatus,
    set: Partial<PaymentDoc>,
    push?: object,
  ): Promise<PaymentDoc | null>;
  flushSoon(id: string): void;
}

const clientError = (message: string, code: number, type: string, data: object = {}) =>
  new Errors.MoleculerClientError(message, code, type, data);

const PaymentsService: ServiceSchema<ServiceSettingSchema, Methods, Store> = {
  name: "payments",
  mixins: [
    DbMixin({
      collection: "payments",
      indexes: [
        { fields: { orderId: 1 }, unique: true },
        { fields: { chargeId: 1 }, sparse: true },
      ],
    }),
    OutboxMixin,
    PaymentSettlementMixin,
  ],

  actions: {
    charge: {
      visibility: "public",
      params: {
        $$strict: true,
        orderId: ID,
        userId: ID,
        amount: { type: "number", integer: true, min: 0, max: Number.MAX_SAFE_INTEGER },
        currency: { type: "string", pattern: "^[A-Z]{3}$" },
        token: { type: "string", min: 1, max: 200 },
      },
      async handler(ctx: Context<ChargeParams, Meta>): Promise<Payment> {
        const doc = newPayment(ctx.params, "processing", this.provider.name, Date.now(), this.leaseMs);
        try {
          await this.adapter.insert(doc);
        } catch (err) {
          if (!isDuplicateKey(err)) throw err;
          return paymentView(await this.settled(ctx.params.orderId));
        }
        return paymentView(await this.capture(doc));
      },
    },

    refund: {
      visibility: "public",
      params: { $$strict: true, orderId: ID },
      async handler(ctx: Context<{ orderId: string }, Meta>): Promise<Payment> {
        const { orderId } = ctx.params;
        for (;;) {
          let doc = await this.byOrder(orderId);
          if (!doc) {
            // Nothing charged yet: a tombstone, so a charge arriving late for this order captures nothing.
            const tomb = newPayment(
              { orderId, userId: "", amount: 0, currency: "", token: "" },
              "voided",
              this.provider.name,
              Date.now(),
              0,
            );
            try {
              await this.adapter.insert(tomb);
              return paymentView(tomb);
            } catch (err) {
              if (!isDuplicateKey(err)) throw err;
              continue;
            }
          }
          if (doc.status === "processing") doc = await this.settled(orderId);
          if (doc.status !== "succeeded") return paymentView(doc);
          // What partial refunds left: the order's total − refundedTotal.
          const rest = doc.amount - (doc.refundedAmount ?? 0);
          const { refundId } =
            rest > 0
              ? await this.provider.refund({
                  idempotencyKey: `refund:${doc._id}`,
                  chargeId: doc.chargeId!,
                  amount: rest,
                  currency: doc.currency,
                })
              : { refundId: undefined };
          const done = await this.move(doc, "refunded", { refundId, refundedAmount: doc.amount });
          if (done) return paymentView(done);
        }
      },
    },

    get: {
      visibility: "public",
      params: { $$strict: true, orderId: ID },
      async handler(ctx: Context<{ orderId: string }, Meta>): Promise<Payment> {
        const doc = await this.byOrder(ctx.params.orderId);
        if (!doc) throw clientError("Payment not found", 404, "NOT_FOUND", { orderId: ctx.params.orderId });
        return paymentView(doc);
      },
    },

    webhook: {
      params: {
        $$strict: true,
        id: { type: "string", min: 1, max: 200 },
        type: { type: "enum", values: [...WEBHOOK_TYPES] },
        data: {
          type: "object",
          strict: true,
          props: {
            chargeId: { type: "string", min: 1, max: 200 },
            reason: { type: "string", max: 200, optional: true },
          },
        },
      },
      async handler(ctx: Context<WebhookParams, Meta>): Promise<{ received: true; applied: boolean }> {
        const raw = Buffer.from(ctx.meta.webhook?.rawBody ?? "", "base64");
        const check = checkWebhookSignature(this.secret, raw, ctx.meta.webhook?.signature);
        if (check === "stale")
          throw clientError(
            `Webhook timestamp is more than ${WEBHOOK_TOLERANCE_SECONDS} s away`,
            400,
            "INVALID_SIGNATURE",
          );
        if (check !== "valid") throw clientError("Invalid webhook signature", 400, "INVALID_SIGNATURE");
        const { id, type, data } = ctx.params;
        const doc: PaymentDoc | null = await this.adapter.findOne({ chargeId: data.chargeId });
        if (!doc) throw clientError("Payment not found", 404, "NOT_FOUND", { chargeId: data.chargeId });
        const { from, to } = WEBHOOK_EFFECTS[type];
        // The state is the deduplication: however often a webhook arrives, one compare-and-set wins.
        if (doc.status !== from) return { received: true, applied: false };
        const set = to === "failed" ? { reason: data.reason ?? "declined" } : {};
        const done = await this.move(doc, to, set, { webhooks: { id, type, at: new Date().toISOString() } });
        return { received: true, applied: Boolean(done) };
      },
    },

    health: {
      async handler() {
        return { service: "payments", database: await this.dbPing() };
      },
    },
  },

  methods: {
    byOrder(orderId: string): Promise<PaymentDoc | null> {
      return this.adapter.findOne({ orderId });
    },

    /** The payment once its capture is over; finishes a capture whose claimant stopped answering. */
    async settled(orderId: string): Promise<PaymentDoc> {
      const deadline = Date.now() + WAIT_MS;
      for (;;) {
        const cur = await this.byOrder(orderId);
        if (!cur) throw clientError("Payment not found", 404, "NOT_FOUND", { orderId });
        if (cur.status !== "processing") return cur;
        if (cur.leaseUntil < Date.now()) {
          const mine: PaymentDoc | null = await this.updateOneIf(
            { _id: cur._id, status: "processing", leaseUntil: cur.leaseUntil },
            { $set: { leaseUntil: Date.now() + this.leaseMs } },
          );
          if (mine) return this.capture(mine);
        }
        if (Date.now() > deadline)
          throw new Errors.MoleculerRetryableError("Payment is being processed", 503, "PAYMENT_IN_PROGRESS", {
            orderId,
          });
        await sleep(25);
      }
    },

    async capture(doc: PaymentDoc): Promise<PaymentDoc> {
      const res = await this.provider.charge({
        idempotencyKey: chargeKey(doc.orderId, doc.attempt ?? 1),
        amount: doc.amount,
        currency: doc.currency,
        token: doc.token,
      });
      const set =
        res.status === "failed"
          ? { chargeId: res.chargeId, reason: res.reason }
          : res.status === "requires_action"
            ? { chargeId: res.chargeId, clientSecret: res.clientSecret }
            : { chargeId: res.chargeId };
      // Lost only to a webhook that settled it first: its result stands.
      return (await this.move(doc, res.status, set)) ?? (await this.settled(doc.orderId));
    },

    /** Compare-and-set of the status, with the event it causes in the same write. */
    async move(
      doc: PaymentDoc,
      to: PaymentStatus,
      set: Partial<PaymentDoc>,
      push = {},
    ): Promise<PaymentDoc | null> {
      const base = { paymentId: doc._id, orderId: doc.orderId };
      const money = { amount: doc.amount, currency: doc.currency };
      // Waiting for the customer is no event: the webhook's outcome is.
      const evt =
        to === "requires_action"
          ? null
          : to === "succeeded"
            ? this.newEvent(Events.paymentSucceeded, doc._id, { ...base, ...money })
            : to === "failed"
              ? this.newEvent(Events.paymentFailed, doc._id, { ...base, reason: set.reason ?? "declined" })
              : this.newEvent(Events.paymentRefunded, doc._id, { ...base, ...money });
      const update = {
        $set: { ...set, status: to, token: "", updatedAt: new Date().toISOString() },
        $push: push,
      };
      const done: PaymentDoc | null = await this.updateOneIf(
        { _id: doc._id, status: doc.status },
        evt ? this.pushOutbox(update, [evt]) : update,
      );
      if (done) this.flushSoon(doc._id);
      if (done && to === "failed") this.broker.metrics.increment("payments.declined.total");
      return done;
    },
  },

  created() {
    const cfg = config();
    this.provider = providerFor(cfg);
    this.leaseMs = cfg.checkout.leaseSeconds * 1000;
    this.secret = cfg.checkout.paymentWebhookSecret ?? generatedWebhookSecret(cfg.dataDir);
    this.broker.metrics.register({
      type: "counter",
      name: "payments.declined.total",
      description: "Charges declined by the provider",
    });
  },
};

export default PaymentsService;
