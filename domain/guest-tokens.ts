/**
 * Guest credentials. A cart token is 256 random bits shown to the guest once; only its SHA-256 is
 * stored (the guest cart's id derives from it), as with refresh tokens. An order token is an
 * HMAC of the order id keyed by the cart token the order was placed with: nothing about it is
 * stored but its hash, and a replay of the same Idempotency-Key (which comes with the same cart
 * token) can answer it again.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";

export const CART_TOKEN_PATTERN = /^gc_[A-Za-z0-9_-]{43}$/;
export const ORDER_TOKEN_PATTERN = /^go_[A-Za-z0-9_-]{43}$/;
export const CART_TOKEN_HEADER = "X-Cart-Token";
export const ORDER_TOKEN_HEADER = "X-Order-Token";
export const DEFAULT_GUEST_CART_TTL_DAYS = 30;
/** Idle time is recorded at most this often: a read does not cost a write every time. */
export const TOUCH_EVERY_MS = 3600_000;

const sha256 = (s: string) => createHash("sha256").update(s, "utf8").digest("hex");

export function newCartToken(): string {
  return `gc_${randomBytes(32).toString("base64url")}`;
}

export const isCartToken = (t: unknown): t is string => typeof t === "string" && CART_TOKEN_PATTERN.test(t);
export const isOrderToken = (t: unknown): t is string => typeof t === "string" && ORDER_TOKEN_PATTERN.test(t);

/** The guest cart's document id: never a user id (those are UUIDs), never the token itself. */
export function guestCartId(cartToken: string): string {
  return `guest:${sha256(cartToken)}`;
}

export function orderTokenFor(cartToken: string, orderId: string): string {
  return `go_${createHmac("sha256", cartToken).update(orderId, "utf8").digest("base64url")}`;
}

export function hashOrderToken(orderToken: string): string {
  return sha256(orderToken);
}

/** Constant-time comparison of two hex hashes. */
export function sameHash(a: string | undefined, b: string): boolean {
  if (typeof a !== "string" || a.length !== b.length) return false;
  return timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

/** Unused for longer than `ttlMs`, a guest cart is gone. */
export function isIdle(lastUsedAtMs: number | undefined, nowMs: number, ttlMs: number): boolean {
  return lastUsedAtMs === undefined || nowMs - lastUsedAtMs > ttlMs;
}

export function needsTouch(lastUsedAtMs: number, nowMs: number): boolean {
  return nowMs - lastUsedAtMs >= TOUCH_EVERY_MS;
}
