/**
 * The only module services share: action names with their param/result types, event names with
 * their payload types, and the event -> Kafka topic map. Types and constants only.
 */

// ---- Domain events (durable channels) ----

export const Events = {
  userRegistered: "user.registered",
  productCreated: "product.created",
  productUpdated: "product.updated",
  productDeleted: "product.deleted",
  inventoryLow: "inventory.low",
  orderPlaced: "order.placed",
  orderPaid: "order.paid",
  orderCancelled: "order.cancelled",
  orderPaymentFailed: "order.payment_failed",
  paymentSucceeded: "payment.succeeded",
  paymentFailed: "payment.failed",
  paymentRefunded: "payment.refunded",
} as const;
export type EventName = (typeof Events)[keyof typeof Events];

export interface OrderLine {
  productId: string;
  name: string;
  unitPrice: number;
  quantity: number;
  lineTotal: number;
}

/** The `data` of each event, as published to Kafka (API.md "Kafka topics"). */
export interface EventData {
  "user.registered": { userId: string; email: string; name: string };
  "product.created": ProductEventData;
  "product.updated": ProductEventData;
  "product.deleted": { productId: string };
  "inventory.low": { productId: string; available: number; threshold: number };
  "order.placed": { orderId: string; userId: string; items: OrderLine[]; total: number; currency: string };
  "order.paid": { orderId: string; userId: string; paymentId: string; total: number; currency: string };
  "order.cancelled": { orderId: string; userId: string; reason: string };
  "order.payment_failed": { orderId: string; userId: string; reason: string };
  "payment.succeeded": { paymentId: string; orderId: string; amount: number; currency: string };
  "payment.failed": { paymentId: string; orderId: string; reason: string };
  "payment.refunded": { paymentId: string; orderId: string; amount: number; currency: string };
}

export interface ProductEventData {
  productId: string;
  sku: string;
  name: string;
  price: number;
  currency: string;
  category: string;
  active: boolean;
}

/** What travels on a channel and, unchanged, as a Kafka record value. */
export interface EventEnvelope<E extends EventName = EventName> {
  eventId: string;
  type: E;
  version: number;
  occurredAt: string;
  /** The aggregate id: the Kafka key, so one aggregate's records stay in order. */
  key: string;
  data: EventData[E];
}

export const KafkaTopics: Record<EventName, string | null> = {
  "user.registered": "user_registered",
  "product.created": "product_created",
  "product.updated": "product_updated",
  "product.deleted": "product_deleted",
  "inventory.low": "inventory_low",
  "order.placed": "order_placed",
  "order.paid": "order_paid",
  "order.cancelled": "order_cancelled",
  "order.payment_failed": "order_payment_failed",
  "payment.succeeded": null,
  "payment.failed": null,
  "payment.refunded": null,
};

// ---- Actions ----

export type Role = "customer" | "admin";

/** Who is calling, set by the gateway from a verified access token. */
export interface AuthUser {
  id: string;
  role: Role;
}

export interface Meta {
  user?: AuthUser;
  requestId?: string;
  $statusCode?: number;
  $responseHeaders?: Record<string, string>;
}

export interface Jwk {
  kty: string;
  kid: string;
  alg: string;
  use: "sig";
  [k: string]: unknown;
}

export interface HealthResult {
  service: string;
  database: boolean;
}

export interface Actions {
  "tokens.jwks": { params: Record<string, never>; result: { keys: Jwk[] } };
  "tokens.publicKeys": {
    params: Record<string, never>;
    result: { keys: { kid: string; pem: string; alg: string }[] };
  };
}
export type ActionName = keyof Actions;

/** Every DB-backed service answers `<name>.health` for the gateway's readiness check. */
export const HEALTH_ACTION = "health";
