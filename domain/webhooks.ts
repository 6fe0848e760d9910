/**
 * Pure rules of outbound webhooks: who gets an event, the request's body, headers and signature,
 * the retry schedule, when an endpoint is switched off, and which pending deliveries may go now
 * (one at a time per endpoint and aggregate, oldest first).
 */
import { randomBytes } from "node:crypto";
import {
  ALL_WEBHOOK_EVENTS,
  WEBHOOK_EVENT_TYPES,
  type EventEnvelope,
  type WebhookDelivery,
  type WebhookDeliveryStatus,
  type WebhookEndpoint,
} from "../contracts";
import { checkWebhookSignature, signWebhook, type WebhookSignatureCheck } from "./payments";
import { invalidField } from "./rule-error";

/** API.md: up to 8 attempts, then `failed`. */
export const MAX_ATTEMPTS = 8;
/** API.md: after 20 deliveries in a row end `failed`, the endpoint is set `active: false`. */
export const DEACTIVATE_AFTER_FAILURES = 20;
export const DEACTIVATION_REASON = `${DEACTIVATE_AFTER_FAILURES} deliveries in a row failed`;

export interface EndpointDoc {
  _id: string;
  url: string;
  events: string[];
  active: boolean;
  secret: string;
  consecutiveFailures: number;
  deactivatedAt: number | null;
  deactivationReason: string | null;
  /** The admin email about a deactivation: `pending` until sent (a sweep retries it). */
  deactivationNotice?: "pending" | "sent" | "skipped";
  createdAt: number;
  updatedAt: number;
}

export interface DeliveryDoc {
  /** `<endpointId>:<eventId>`: a redelivered event collides on the primary key. */
  _id: string;
  endpointId: string;
  eventId: string;
  eventType: string;
  /** The aggregate id (the envelope's key): one at a time per endpoint and key, oldest first. */
  key: string;
  /** Where the event stands in the order events happened (µs; see the service). */
  at: number;
  /**
   * The exact bytes sent on every attempt: in the event's own record (`eventBodyId`), written
   * once for all its endpoints, not rewritten with each claim and outcome; inline only in
   * records written before that.
   */
  body?: string;
  status: WebhookDeliveryStatus;
  /**
   * The endpoint id while pending, absent once delivered or failed: its sparse index holds only
   * what is still to send, so the dispatcher's reads do not grow with the log.
   */
  pendingOf?: string;
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  nextAttemptAt: number;
  owner: string | null;
  leaseUntil: number;
  /** Raised by every claim: a write carrying an older fence is a lapsed owner's and changes nothing. */
  fence: number;
  createdAt: number;
  deliveredAt: number | null;
}

export const newSecret = () => `whsec_${randomBytes(32).toString("hex")}`;
export const deliveryId = (endpointId: string, eventId: string) => `${endpointId}:${eventId}`;
/**
 * The pending delivery of `evt` to an endpoint, as recorded when the event is taken in: due at
 * once, unclaimed; `at` is the event's place in the order events happened (µs).
 */
export function newDelivery(
  endpointId: string,
  evt: Pick<EventEnvelope, "eventId" | "type" | "key">,
  at: number,
  now: number,
): DeliveryDoc {
  return {
    _id: deliveryId(endpointId, evt.eventId),
    endpointId,
    eventId: evt.eventId,
    eventType: evt.type,
    key: evt.key ?? evt.eventId,
    at,
    status: "pending",
    pendingOf: endpointId,
    attempts: 0,
    lastStatusCode: null,
    lastError: null,
    nextAttemptAt: 0,
    owner: null,
    leaseUntil: 0,
    fence: 0,
    createdAt: now,
    deliveredAt: null,
  };
}

/** The record that holds an event's body for all its deliveries. */
export const eventBodyId = (eventId: string) => `event:${eventId}`;

/** The 422 for an `events` list: known types (or `*`), at least one; duplicates dropped. */
export function normalizeEvents(events: string[]): string[] {
  const known = new Set<string>([...WEBHOOK_EVENT_TYPES, ALL_WEBHOOK_EVENTS]);
  if (!events.length)
    throw invalidField("events", "arrayMin", "The 'events' field must list at least one event type.");
  const unknown = events.find((e) => !known.has(e));
  if (unknown !== undefined)
    throw invalidField(
      "events",
      "WEBHOOK_EVENT_UNKNOWN",
      `The 'events' field names an unknown event type "${unknown}" (known: ${[...known].join(", ")}).`,
    );
  return [...new Set(events)];
}

/** An endpoint gets an event of a type it lists that happened after it was created, while active. */
export function wants(endpoint: EndpointDoc, evt: Pick<EventEnvelope, "type" | "occurredAt">): boolean {
  if (!endpoint.active) return false;
  if (!endpoint.events.includes(ALL_WEBHOOK_EVENTS) && !endpoint.events.includes(evt.type)) return false;
  return Date.parse(evt.occurredAt) > endpoint.createdAt;
}

/** The request body: the Kafka envelope `{eventId, type, version, occurredAt, data}`. */
export function envelopeBody(evt: EventEnvelope): string {
  const { eventId, type, version, occurredAt, data } = evt;
  return JSON.stringify({ eventId, type, version, occurredAt, data });
}

/** `Shop-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, as our own payment webhooks sign. */
export const signDelivery = (secret: string, body: string, t?: number) => signWebhook(secret, body, t);

/** What a receiver checks (the README's example verifier does the same). */
export const verifyDelivery = (
  secret: string,
  body: Buffer,
  header: unknown,
  now?: number,
): WebhookSignatureCheck => checkWebhookSignature(secret, body, header, now);

export function deliveryHeaders(
  d: Pick<DeliveryDoc, "eventId" | "eventType"> & { body: string },
  secret: string,
  t?: number,
): Record<string, string> {
  return {
    "shop-event-id": d.eventId,
    "shop-event-type": d.eventType,
    "shop-signature": signDelivery(secret, d.body, t),
  };
}

/**
 * The wait after failed attempt `attempt` (1-based): about base, 2x base, 4x base ..., each
 * between 0.75x and 1.25x of that (jitter, so a receiver that comes back is not hit by every
 * retry at once). With the 1 s default, 8 attempts span about two minutes.
 */
export function retryDelayMs(attempt: number, baseMs: number, random: () => number = Math.random): number {
  const nominal = baseMs * 2 ** (attempt - 1);
  return Math.round(nominal * (0.75 + 0.5 * random()));
}

export type AttemptOutcome = { kind: "delivered" } | { kind: "retry"; inMs: number } | { kind: "failed" };

/** Any 2xx is delivered; anything else is retried until the last attempt, then failed. */
export function afterAttempt(
  attempt: number,
  status: number | null,
  baseMs: number,
  random?: () => number,
): AttemptOutcome {
  if (status !== null && status >= 200 && status < 300) return { kind: "delivered" };
  if (attempt >= MAX_ATTEMPTS) return { kind: "failed" };
  return { kind: "retry", inMs: retryDelayMs(attempt, baseMs, random) };
}

/** Requests one endpoint starts with in flight, before it has answered anything. */
export const FIRST_WINDOW = 4;

/**
 * How many requests an endpoint may have in flight after an attempt (at most `max`): one more
 * after each 2xx, half after anything else. A receiver that keeps up is soon sent to at `max`
 * at once, and one that hangs or fails soon holds a single slot, not `max` slots for a timeout
 * each (the increase-slowly, back-off-fast rule of TCP's congestion window).
 */
export function nextWindow(window: number, delivered: boolean, max: number): number {
  return delivered ? Math.min(max, window + 1) : Math.max(1, Math.floor(window / 2));
}

/** After a delivery ended `failed`, with this many failed in a row: is the endpoint switched off? */
export const deactivates = (consecutiveFailures: number) => consecutiveFailures >= DEACTIVATE_AFTER_FAILURES;

/**
 * Which of an endpoint's pending deliveries may be sent now. `pending` is sorted oldest first
 * (`at`); only the oldest pending delivery of each aggregate may go, so one aggregate's events
 * reach the endpoint in order (a delivery waiting out a retry holds back the later ones of its
 * aggregate, no others); and only deliveries from before `watermark`, the point up to which every
 * earlier event is known to be recorded.
 */
export function dueDeliveries(
  pending: readonly Pick<DeliveryDoc, "_id" | "key" | "at" | "nextAttemptAt" | "leaseUntil">[],
  now: number,
  watermark: number,
  limit: number,
): string[] {
  const seen = new Set<string>();
  const due: string[] = [];
  for (const d of pending) {
    if (due.length >= limit) break;
    if (seen.has(d.key)) continue;
    seen.add(d.key);
    if (d.at < watermark && d.nextAttemptAt <= now && d.leaseUntil <= now) due.push(d._id);
  }
  return due;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function toEndpoint(d: EndpointDoc): WebhookEndpoint {
  return {
    id: d._id,
    url: d.url,
    events: d.events,
    active: d.active,
    deactivatedAt: iso(d.deactivatedAt ?? null),
    deactivationReason: d.deactivationReason ?? null,
    consecutiveFailures: d.consecutiveFailures ?? 0,
    createdAt: new Date(d.createdAt).toISOString(),
    updatedAt: new Date(d.updatedAt).toISOString(),
  };
}

export function toDelivery(d: DeliveryDoc): WebhookDelivery {
  return {
    id: d._id,
    eventId: d.eventId,
    eventType: d.eventType,
    status: d.status,
    attempts: d.attempts,
    lastStatusCode: d.lastStatusCode,
    lastError: d.lastError,
    createdAt: new Date(d.createdAt).toISOString(),
    deliveredAt: iso(d.deliveredAt),
  };
}
