/** User rules that need no broker: normalisation and the public shape. */
import type { NotificationPrefs, PublicUser, Role } from "../contracts";

/** E.164: a plus, a non-zero country digit, at most 15 digits in all. */
export const E164 = /^\+[1-9]\d{1,14}$/;

export const DEFAULT_NOTIFICATIONS: NotificationPrefs = { email: true, sms: true };

export interface UserDoc {
  _id: string;
  email: string;
  name: string;
  phone?: string;
  role: Role;
  notifications: NotificationPrefs;
  passwordHash: string;
  createdAt: string;
  updatedAt: string;
}

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

export function newUserDoc(
  id: string,
  input: { email: string; name: string; phone?: string; role: Role },
  passwordHash: string,
  now = new Date(),
): UserDoc {
  const at = now.toISOString();
  return {
    _id: id,
    email: normalizeEmail(input.email),
    name: input.name.trim(),
    ...(input.phone ? { phone: input.phone } : {}),
    role: input.role,
    notifications: { ...DEFAULT_NOTIFICATIONS },
    passwordHash,
    createdAt: at,
    updatedAt: at,
  };
}

/** Only the contract's fields leave the service: never the hash, never storage internals. */
export function toPublicUser(doc: UserDoc): PublicUser {
  return {
    id: doc._id,
    email: doc.email,
    name: doc.name,
    ...(doc.phone ? { phone: doc.phone } : {}),
    role: doc.role,
    notifications: { ...DEFAULT_NOTIFICATIONS, ...doc.notifications },
    createdAt: doc.createdAt,
  };
}

/** The `$set`/`$unset` of a `PATCH me`; `phone: null` removes the phone. */
export function profileUpdate(
  patch: { name?: string; phone?: string | null; notifications?: Partial<NotificationPrefs> },
  now = new Date(),
): { $set: Record<string, unknown>; $unset?: Record<string, true> } {
  const $set: Record<string, unknown> = { updatedAt: now.toISOString() };
  if (patch.name !== undefined) $set.name = patch.name.trim();
  if (typeof patch.phone === "string") $set.phone = patch.phone;
  for (const [k, v] of Object.entries(patch.notifications ?? {}))
    if (typeof v === "boolean") $set[`notifications.${k}`] = v;
  return patch.phone === null ? { $set, $unset: { phone: true } } : { $set };
}
