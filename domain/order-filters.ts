/**
 * The admin's filters of GET /api/orders: `status` (one status) and a `createdAt` window
 * `[from, to)`. Statuses are matched as words, not an enum, so statuses added later
 * (on_hold, requires_action, ...) filter without a change here.
 */

import { invalidField } from "./rule-error";

export const STATUS_WORD = /^[a-z_]{1,30}$/;
/** A date or a date-time, as the list's `createdAt` (ISO-8601) compares. */
export const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})?)?$/;

export interface OrderListFilters {
  status?: string;
  from?: string;
  to?: string;
}

/** A date-only bound is that day at 00:00 UTC; a date-only `to` takes in the whole of its day. */
function instant(raw: string, endOfDay: boolean, field: string): string {
  const ms = Date.parse(raw.length === 10 ? `${raw}T00:00:00Z` : raw);
  // The pattern lets through dates no calendar has (0000-00-00, 2026-13-40).
  if (Number.isNaN(ms)) throw invalidField(field, "date", `'${field}' is not a date, e.g. 2026-01-31`);
  return new Date(raw.length === 10 && endOfDay ? ms + 86_400_000 : ms).toISOString();
}

/** The store conditions of the filters (bounds already matched ISO_INSTANT). */
export function orderListQuery(f: OrderListFilters): Record<string, unknown> {
  const query: Record<string, unknown> = {};
  if (f.status !== undefined) query.status = f.status;
  const createdAt: Record<string, string> = {};
  if (f.from !== undefined) createdAt.$gte = instant(f.from, false, "from");
  if (f.to !== undefined) createdAt.$lt = instant(f.to, true, "to");
  if (Object.keys(createdAt).length) query.createdAt = createdAt;
  return query;
}
