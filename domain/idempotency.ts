/**
 * Idempotency-Key rules: a key is scoped to its user, remembers a hash of the body it came with
 * and, once the request finished, the final response; it is forgotten after 24 h.
 *
 * The claim is the insert of a record whose `_id` derives from (user, key): the store's unique
 * `_id` lets exactly one of any number of concurrent requests own it.
 */
import { createHash } from "node:crypto";

export const KEY_TTL_MS = 24 * 60 * 60 * 1000;
export const MAX_KEY_LENGTH = 255;

/** What the first request answered: an order (201) or a refusal the client must see again. */
export type StoredResponse =
  | { status: 201 | 202; body: unknown }
  | { status: 402 | 409; error: { message: string; type: string; data: unknown } };

export interface KeyRecord {
  _id: string;
  kind: "idem";
  userId: string;
  bodyHash: string;
  orderId: string;
  state: "open" | "done";
  /** Until then the claimant is presumed alive; afterwards another request may take over. */
  claimUntil: number;
  expiresAtMs: number;
  response?: StoredResponse;
  createdAt: string;
}

export function isValidKey(key: unknown): key is string {
  return typeof key === "string" && key.length >= 1 && key.length <= MAX_KEY_LENGTH;
}

export function keyRecordId(userId: string, key: string): string {
  // JSON keeps the pair unambiguous whatever characters either part holds.
  return (
    "idem:" +
    createHash("sha256")
      .update(JSON.stringify([userId, key]))
      .digest("base64url")
  );
}

/** JSON with object keys sorted at every level: equal bodies hash equal however they were written. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object")
    return `{${Object.keys(value)
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  return JSON.stringify(value) ?? "null";
}

export function bodyHash(body: unknown): string {
  return createHash("sha256").update(canonicalJson(body)).digest("base64url");
}

export function newKeyRecord(
  id: string,
  userId: string,
  hash: string,
  orderId: string,
  nowMs: number,
  leaseMs: number,
): KeyRecord {
  return {
    _id: id,
    kind: "idem",
    userId,
    bodyHash: hash,
    orderId,
    state: "open",
    claimUntil: nowMs + leaseMs,
    expiresAtMs: nowMs + KEY_TTL_MS,
    createdAt: new Date(nowMs).toISOString(),
  };
}

export type KeyDecision =
  /** Past 24 h: the key is free again and may be claimed anew. */
  | "expired"
  /** Same key, another body: 422. */
  | "mismatch"
  /** The first request finished: answer what it answered. */
  | "replay"
  /** The first request is still running: wait for it. */
  | "wait";

/** What a request that found `rec` already stored for its key does next. */
export function decide(rec: KeyRecord, hash: string, nowMs: number): KeyDecision {
  if (rec.expiresAtMs <= nowMs) return "expired";
  if (rec.bodyHash !== hash) return "mismatch";
  return rec.state === "done" ? "replay" : "wait";
}
