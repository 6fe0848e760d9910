/** Outbound webhooks (API.md "Outbound webhooks"): endpoints, their delivery log, event types. */
/**
 * The event types an endpoint may list (`*` = all): the values of `Events` that API.md names
 * (literals: this module is re-exported by index.ts and must not import it back). `user.deleted`,
 * `order.refunded`, `order.held` and `return.requested` come before their producers add them to
 * `Events` (their own issues): their channels are consumed already, so none of them is missed.
 */
export const WEBHOOK_EVENT_TYPES = [
  "user.registered",
  "user.deleted",
  "product.created",
  "product.updated",
  "product.deleted",
  "inventory.low",
  "order.placed",
  "order.paid",
  "order.cancelled",
  "order.payment_failed",
  "order.refunded",
  "order.held",
  "order.reviewed",
  "return.requested",
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];
export const ALL_WEBHOOK_EVENTS = "*";

/** API.md's endpoint; `secret` only in the answer to its creation. */
export interface WebhookEndpoint {
  id: string;
  url: string;
  events: string[];
  active: boolean;
  /** Set when the endpoint was switched off after 20 failed deliveries in a row. */
  deactivatedAt: string | null;
  deactivationReason: string | null;
  consecutiveFailures: number;
  createdAt: string;
  updatedAt: string;
}

export type WebhookDeliveryStatus = "pending" | "delivered" | "failed";

/** API.md's delivery, as `GET /api/webhooks/:id/deliveries` lists it. */
export interface WebhookDelivery {
  id: string;
  eventId: string;
  eventType: string;
  status: WebhookDeliveryStatus;
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  createdAt: string;
  deliveredAt: string | null;
}

export interface WebhookInput {
  url: string;
  events: string[];
  active?: boolean;
}

/** Metric names of the webhooks service. */
export const WebhookMetrics = {
  deliveries: "webhooks.deliveries.total",
  latency: "webhooks.delivery.latency",
  backlog: "webhooks.backlog",
} as const;
