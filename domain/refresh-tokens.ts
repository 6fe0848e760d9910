/**
 * Refresh-token families. A token is 256 random bits shown to the client once; only its SHA-256
 * is stored. Each use rotates it: the presented token becomes `rotated` and a successor in the
 * same family is issued. A `rotated` token presented again means a copy is in someone else's
 * hands, so the whole family is revoked.
 */
import { createHash, randomBytes } from "node:crypto";
import type { Role } from "../contracts";

export const ABSOLUTE_TTL_MS = 30 * 24 * 3600 * 1000;
export const IDLE_TTL_MS = 7 * 24 * 3600 * 1000;

export type RefreshState = "active" | "rotated" | "revoked";

export interface RefreshTokenDoc {
  _id: string;
  hash: string;
  familyId: string;
  userId: string;
  role: Role;
  /** The account's signup (ISO), for the access tokens of the family; absent on older families. */
  signedUpAt?: string;
  state: RefreshState;
  /** Epoch milliseconds, so range filters behave the same on NeDB and MongoDB. */
  createdAt: number;
  /** The family's absolute end: carried over unchanged by every rotation. */
  expiresAt: number;
  /** Unused for this long, the token dies even before the absolute end. */
  idleExpiresAt: number;
  rotatedAt?: number;
  replacedBy?: string;
  revokedAt?: number;
  revokedReason?: "logout" | "reuse";
}

export type Rejection = "unknown" | "reused" | "revoked" | "expired";

export function newRefreshToken(): { token: string; hash: string } {
  const token = randomBytes(32).toString("base64url");
  return { token, hash: hashRefreshToken(token) };
}

export function hashRefreshToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

export function firstOfFamily(
  ids: { id: string; familyId: string; hash: string },
  user: { userId: string; role: Role; signedUpAt?: string },
  now: number,
): RefreshTokenDoc {
  const expiresAt = now + ABSOLUTE_TTL_MS;
  return {
    _id: ids.id,
    hash: ids.hash,
    familyId: ids.familyId,
    userId: user.userId,
    role: user.role,
    ...(user.signedUpAt ? { signedUpAt: user.signedUpAt } : {}),
    state: "active",
    createdAt: now,
    expiresAt,
    idleExpiresAt: Math.min(now + IDLE_TTL_MS, expiresAt),
  };
}

export function successor(
  prev: RefreshTokenDoc,
  ids: { id: string; hash: string },
  now: number,
): RefreshTokenDoc {
  return {
    _id: ids.id,
    hash: ids.hash,
    familyId: prev.familyId,
    userId: prev.userId,
    role: prev.role,
    ...(prev.signedUpAt ? { signedUpAt: prev.signedUpAt } : {}),
    state: "active",
    createdAt: now,
    expiresAt: prev.expiresAt,
    idleExpiresAt: Math.min(now + IDLE_TTL_MS, prev.expiresAt),
  };
}

/** Matches the presented token only while it may still be used: one atomic update decides the winner. */
export function rotationFilter(hash: string, now: number) {
  return { hash, state: "active", expiresAt: { $gt: now }, idleExpiresAt: { $gt: now } };
}

export function rotationUpdate(successorId: string, now: number) {
  return { $set: { state: "rotated", rotatedAt: now, replacedBy: successorId } };
}

export function revocationUpdate(reason: "logout" | "reuse", now: number) {
  return { $set: { state: "revoked", revokedAt: now, revokedReason: reason } };
}

/** Why a presented token cannot be used now, or null when it can. */
export function rejection(doc: RefreshTokenDoc | null | undefined, now: number): Rejection | null {
  if (!doc) return "unknown";
  if (doc.state === "rotated") return "reused";
  if (doc.state === "revoked") return "revoked";
  if (doc.expiresAt <= now || doc.idleExpiresAt <= now) return "expired";
  return null;
}
