/**
 * Stripe through its official SDK: PaymentIntents confirmed at once (`confirm: true`), one
 * idempotency key per order and attempt, so a retried capture never charges twice; 3-D Secure
 * answers `requires_action` with the intent's client secret, and Stripe's webhook (verified by
 * the SDK, 300 s tolerance) settles it later. `STRIPE_API_BASE` points the SDK at a local server
 * (stripe-mock, or test/support/stripe-stub.ts) instead of api.stripe.com.
 */
import Stripe from "stripe";
import {
  WEBHOOK_TOLERANCE_SECONDS,
  fromStripeStatus,
  type ChargeRequest,
  type ChargeResult,
  type PaymentProvider,
  type RefundRequest,
} from "../../domain/payments";

export interface StripeSettings {
  secretKey: string;
  webhookSecret: string;
  apiBase?: string;
}

function clientOptions(apiBase: string | undefined): Stripe.StripeConfig {
  const base = { maxNetworkRetries: 2, timeout: 10_000, telemetry: false };
  if (!apiBase) return base;
  const url = new URL(apiBase);
  return {
    ...base,
    host: url.hostname,
    port: Number(url.port || (url.protocol === "https:" ? 443 : 80)),
    protocol: url.protocol === "https:" ? "https" : "http",
  };
}

export function intentResult(pi: Stripe.PaymentIntent): ChargeResult {
  const status = fromStripeStatus(pi.status);
  if (status === "succeeded") return { status, chargeId: pi.id };
  if (status === "failed")
    return { status, chargeId: pi.id, reason: pi.last_payment_error?.code ?? pi.status };
  // requires_action, and processing (its outcome comes by webhook too)
  return { status: "requires_action", chargeId: pi.id, clientSecret: pi.client_secret ?? "" };
}

export class StripeProvider implements PaymentProvider {
  readonly name = "stripe";
  readonly stripe: Stripe;

  constructor(private readonly settings: StripeSettings) {
    this.stripe = new Stripe(settings.secretKey, clientOptions(settings.apiBase));
  }

  async charge(req: ChargeRequest): Promise<ChargeResult> {
    try {
      const pi = await this.stripe.paymentIntents.create(
        {
          amount: req.amount,
          currency: req.currency.toLowerCase(),
          payment_method: req.token,
          // Cards without redirects: no return_url needed; 3-D Secure is requires_action
          automatic_payment_methods: { enabled: true, allow_redirects: "never" },
          confirm: true,
        },
        { idempotencyKey: req.idempotencyKey },
      );
      return intentResult(pi);
    } catch (err) {
      // A decline (card error) or a PaymentMethod Stripe refuses: a failed charge, not a retry.
      if (
        err instanceof Stripe.errors.StripeCardError ||
        err instanceof Stripe.errors.StripeInvalidRequestError
      ) {
        const raw = (err as any).raw ?? {};
        return {
          status: "failed",
          chargeId: raw.payment_intent?.id ?? `pi_refused_${req.idempotencyKey}`,
          reason: err.decline_code ?? err.code ?? "card_declined",
        };
      }
      throw err;
    }
  }

  async refund(req: RefundRequest) {
    const refund = await this.stripe.refunds.create(
      { payment_intent: req.chargeId, amount: req.amount },
      { idempotencyKey: req.idempotencyKey },
    );
    const status =
      refund.status === "succeeded" ? "succeeded" : refund.status === "failed" ? "failed" : "pending";
    return { refundId: refund.id, status } as const;
  }

  async retrieve(chargeId: string): Promise<ChargeResult> {
    return intentResult(await this.stripe.paymentIntents.retrieve(chargeId));
  }

  /** The event, if the `Stripe-Signature` header signs these exact bytes within 300 s; else throws. */
  verifyWebhook(rawBody: Buffer, signature: string | undefined): Stripe.Event {
    return this.stripe.webhooks.constructEvent(
      rawBody,
      signature ?? "",
      this.settings.webhookSecret,
      WEBHOOK_TOLERANCE_SECONDS,
    );
  }
}
