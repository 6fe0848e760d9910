/**
 * Payment rules with no broker: the provider interface, the built-in simulated provider with the
 * test tokens of API.md, the payment state machine and the webhook signature.
 */
import { createHash, createHmac, randomUUID, timingSafeEqual } from "node:crypto";
import type { Payment, PaymentStatus } from "../contracts";

export const CARD_TOKENS = ["tok_visa", "tok_chargeDeclined"] as const;
export type CardToken = (typeof CARD_TOKENS)[number];

export interface ChargeRequest {
  /** The provider captures at most once per key, however often it is asked. */
  idempotencyKey: string;
  amount: number;
  currency: string;
  token: string;
}

export type ChargeResult =
  | { status: "succeeded"; chargeId: string }
  | { status: "failed"; chargeId: string; reason: string }
  /** The customer must act (3-D Secure) with `clientSecret`; a webhook settles it later. */
  | { status: "requires_action"; chargeId: string; clientSecret: string };

export interface RefundRequest {
  idempotencyKey: string;
  chargeId: string;
  amount: number;
  currency: string;
}

export interface PaymentProvider {
  readonly name: string;
  charge(req: ChargeRequest): Promise<ChargeResult>;
  refund(req: RefundRequest): Promise<{ refundId: string; status: "succeeded" | "pending" | "failed" }>;
  /** Where a charge stands at the provider now (the client's confirmation after 3-D Secure). */
  retrieve?(chargeId: string): Promise<ChargeResult>;
}

const derivedId = (prefix: string, key: string) =>
  `${prefix}_${createHash("sha256").update(key).digest("hex").slice(0, 24)}`;

/**
 * Answers like a card processor in test mode: `tok_visa` is approved, `tok_chargeDeclined` is
 * declined. Its ids derive from the idempotency key, so a repeated request gets the same answer.
 */
export class SimulatedProvider implements PaymentProvider {
  readonly name = "simulated";

  async charge(req: ChargeRequest): Promise<ChargeResult> {
    const chargeId = derivedId("ch", req.idempotencyKey);
    if (req.token === "tok_visa") return { status: "succeeded", chargeId };
    if (req.token === "tok_chargeDeclined") return { status: "failed", chargeId, reason: "card_declined" };
    return { status: "failed", chargeId, reason: "invalid_token" };
  }

  async refund(req: RefundRequest): Promise<{ refundId: string; status: "succeeded" }> {
    return { refundId: derivedId("re", req.idempotencyKey), status: "succeeded" };
  }
}

/**
 * processing -> succeeded | failed; succeeded -> refunded. `voided` marks an order refunded before
 * any charge existed, so a charge arriving late for it captures nothing.
 */
export const PAYMENT_TRANSITIONS: Readonly<Record<PaymentStatus, readonly PaymentStatus[]>> = {
  processing: ["succeeded", "failed", "requires_action"],
  requires_action: ["succeeded", "failed"],
  // only a success reported after the failure (3-D Secure retried): refunded at once
  failed: ["refunded"],
  succeeded: ["refunded"],
  refunded: [],
  voided: [],
};

export const WEBHOOK_TYPES = ["charge.succeeded", "charge.failed", "charge.refunded"] as const;
export type WebhookType = (typeof WEBHOOK_TYPES)[number];

/** The state a webhook moves a payment from, and to. */
export const WEBHOOK_EFFECTS: Readonly<Record<WebhookType, { from: PaymentStatus; to: PaymentStatus }>> = {
  "charge.succeeded": { from: "processing", to: "succeeded" },
  "charge.failed": { from: "processing", to: "failed" },
  "charge.refunded": { from: "succeeded", to: "refunded" },
};

/** A signed webhook is refused when its `t` is further than this from the receiver's clock. */
export const WEBHOOK_TOLERANCE_SECONDS = 300;

const nowSeconds = () => Math.floor(Date.now() / 1000);

const webhookHmac = (secret: string, t: number, rawBody: Buffer | string) =>
  createHmac("sha256", secret).update(`${t}.`).update(rawBody).digest();

/**
 * The `Payment-Signature` header the provider sends: `t=<unix seconds>,v1=<hex HMAC-SHA256 of
 * "<t>.<body>">`. The timestamp is signed too, so a captured call cannot be replayed later.
 */
export function signWebhook(secret: string, rawBody: Buffer | string, t: number = nowSeconds()): string {
  return `t=${t},v1=${webhookHmac(secret, t, rawBody).toString("hex")}`;
}

export type WebhookSignatureCheck = "valid" | "malformed" | "stale" | "mismatch";

/** Checks a `Payment-Signature` header: well-formed, `t` within tolerance, HMAC equal (constant time). */
export function checkWebhookSignature(
  secret: string,
  rawBody: Buffer,
  header: unknown,
  now: number = nowSeconds(),
): WebhookSignatureCheck {
  if (typeof header !== "string") return "malformed";
  const fields = new Map(
    header.split(",").map((part) => {
      const eq = part.indexOf("=");
      return [part.slice(0, eq).trim(), part.slice(eq + 1).trim()] as const;
    }),
  );
  const t = fields.get("t") ?? "";
  const v1 = fields.get("v1") ?? "";
  if (!/^\d{1,12}$/.test(t) || !/^[0-9a-f]{64}$/i.test(v1)) return "malformed";
  if (Math.abs(now - Number(t)) > WEBHOOK_TOLERANCE_SECONDS) return "stale";
  const expected = webhookHmac(secret, Number(t), rawBody);
  return timingSafeEqual(expected, Buffer.from(v1, "hex")) ? "valid" : "mismatch";
}

/** The provider's key for one capture attempt of an order: a retry of that attempt reuses it. */
export const chargeKey = (orderId: string, attempt: number) => `order:${orderId}:attempt:${attempt}`;

/**
 * Stripe PaymentIntent status -> ours. A decline with `confirm: true` comes back as a card error
 * (failed), not a status; `requires_payment_method` after a confirm without error means the
 * customer must supply or confirm a method client-side, like 3-D Secure.
 */
export function fromStripeStatus(status: string): "succeeded" | "failed" | "requires_action" | "processing" {
  switch (status) {
    case "succeeded":
      return "succeeded";
    case "requires_action":
    case "requires_payment_method":
    case "requires_confirmation":
      return "requires_action";
    case "processing":
    case "requires_capture":
      return "processing";
    default:
      // canceled, and any status a newer API version adds: never counted as paid
      return "failed";
  }
}

/** Stripe event type -> the payment status it settles to (null: not one we act on). */
export function stripeEventEffect(type: string): "succeeded" | "failed" | null {
  if (type === "payment_intent.succeeded") return "succeeded";
  if (type === "payment_intent.payment_failed" || type === "payment_intent.canceled") return "failed";
  return null;
}

/** Card tokens each provider takes: the simulated test tokens, or Stripe PaymentMethod ids. */
export function isCardToken(provider: string, token: string): boolean {
  return provider === "stripe"
    ? /^pm_[A-Za-z0-9_]{1,200}$/.test(token)
    : (CARD_TOKENS as readonly string[]).includes(token);
}

export interface PaymentDoc {
  _id: string;
  orderId: string;
  userId: string;
  amount: number;
  currency: string;
  /** Kept while processing, so a node taking over a stalled capture can finish it. */
  token: string;
  status: PaymentStatus;
  provider: string;
  chargeId?: string;
  refundId?: string;
  reason?: string;
  /** Capture attempt of the order (the provider idempotency key names it). */
  attempt?: number;
  clientSecret?: string;
  /** Refunded through refundPart so far; the final refund gives back the rest. */
  refundedAmount?: number;
  /** refundPart calls applied, by refund id (the idempotency of a retried partial refund). */
  refunds?: { id: string; amount: number; providerRefundId: string }[];
  /** A processing capture belongs to its claimant until then; afterwards anyone may finish it. */
  leaseUntil: number;
  webhooks: { id: string; type: string; at: string }[];
  createdAt: string;
  updatedAt: string;
}

export function newPayment(
  p: { orderId: string; userId: string; amount: number; currency: string; token: string },
  status: "processing" | "voided",
  provider: string,
  nowMs: number,
  leaseMs: number,
): PaymentDoc {
  const at = new Date(nowMs).toISOString();
  return {
    _id: `pay_${randomUUID()}`,
    ...p,
    status,
    provider,
    attempt: 1,
    leaseUntil: nowMs + leaseMs,
    webhooks: [],
    createdAt: at,
    updatedAt: at,
  };
}

export function paymentView(d: PaymentDoc): Payment {
  return {
    id: d._id,
    orderId: d.orderId,
    userId: d.userId,
    amount: d.amount,
    currency: d.currency,
    status: d.status,
    provider: d.provider,
    ...(d.chargeId ? { chargeId: d.chargeId } : {}),
    ...(d.reason ? { reason: d.reason } : {}),
    ...(d.clientSecret && d.status === "requires_action" ? { clientSecret: d.clientSecret } : {}),
    ...(d.refundedAmount ? { refundedAmount: d.refundedAmount } : {}),
    webhooks: d.webhooks,
    createdAt: d.createdAt,
    updatedAt: d.updatedAt,
  };
}
