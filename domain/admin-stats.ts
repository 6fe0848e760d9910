/**
 * GET /api/admin/stats as pure rules (API.md "Admin"): the date window a request names, and the
 * figures over the orders placed in it. Revenue counts what was charged and kept: orders that
 * were confirmed (confirmed, shipped, delivered), less anything refunded from them.
 */

import type { DayRow, OrderStats } from "../contracts";
import { ISO_INSTANT as ISO_DATE } from "./order-filters";

export const STATS_DEFAULT_DAYS = 30;
/** A longer window would make one request read years of orders. */
export const STATS_MAX_DAYS = 366;
const DAY_MS = 86_400_000;

/** The statuses whose charge stands: their total is revenue (less refunds). */
export const REVENUE_STATUSES: ReadonlySet<string> = new Set(["confirmed", "shipped", "delivered"]);

export interface StatsWindow {
  /** Inclusive, ISO-8601. */
  from: string;
  /** Exclusive, ISO-8601. */
  to: string;
}

export interface WindowError {
  field: "from" | "to";
  type: string;
  message: string;
}

/** A date-only `to` ("2026-01-31") means the whole of that day. */
function parseDate(raw: string, endOfDay: boolean): number | null {
  if (!ISO_DATE.test(raw)) return null;
  const ms = Date.parse(raw.length === 10 ? `${raw}T00:00:00Z` : raw);
  if (!Number.isFinite(ms)) return null;
  // Date.parse rolls "2026-02-31" over to March: the day must read back as itself.
  const day = Date.parse(`${raw.slice(0, 10)}T00:00:00Z`);
  if (!Number.isFinite(day) || new Date(day).toISOString().slice(0, 10) !== raw.slice(0, 10)) return null;
  return endOfDay && raw.length === 10 ? ms + DAY_MS : ms;
}

/** `?from&to`, defaulting to the last 30 days up to `now`; a bad date names its field. */
export function statsWindow(
  query: { from?: string; to?: string },
  now: number,
): { window: StatsWindow } | { errors: WindowError[] } {
  const errors: WindowError[] = [];
  const bad = (field: "from" | "to", message: string) => errors.push({ field, type: "date", message });
  const to = query.to === undefined ? now : parseDate(query.to, true);
  if (to === null) bad("to", "'to' must be an ISO-8601 date, e.g. 2026-01-31");
  const from =
    query.from === undefined ? (to ?? now) - STATS_DEFAULT_DAYS * DAY_MS : parseDate(query.from, false);
  if (from === null) bad("from", "'from' must be an ISO-8601 date, e.g. 2026-01-01");
  if (from !== null && to !== null) {
    if (from >= to) bad("from", "'from' must be before 'to'");
    else if (to - from > STATS_MAX_DAYS * DAY_MS) bad("from", `the window is at most ${STATS_MAX_DAYS} days`);
  }
  if (errors.length || from === null || to === null) return { errors };
  return { window: { from: new Date(from).toISOString(), to: new Date(to).toISOString() } };
}

/** The fields of an order the figures read. */
export interface OrderFigures {
  userId: string | null;
  status: string;
  total: number;
  currency: string;
  refundedTotal?: number;
  createdAt: string;
}

/** What an order leaves as revenue: its total less refunds when its charge stands, else 0. */
export function revenueOf(order: OrderFigures): number {
  if (!REVENUE_STATUSES.has(order.status)) return 0;
  return Math.max(0, order.total - (order.refundedTotal ?? 0));
}

/**
 * One row per UTC day and currency that had orders, in date then currency order. Every order
 * placed counts in `orders` and `statusCounts`, whatever became of it; revenue only as above.
 */
export function orderStats(orders: readonly OrderFigures[]): OrderStats {
  const rows = new Map<string, DayRow>();
  const revenue: Record<string, number> = {};
  const statusCounts: Record<string, number> = {};
  for (const order of orders) {
    const date = order.createdAt.slice(0, 10);
    const key = `${date} ${order.currency}`;
    let row = rows.get(key);
    if (!row) rows.set(key, (row = { date, orders: 0, revenue: 0, currency: order.currency }));
    const amount = revenueOf(order);
    row.orders += 1;
    row.revenue += amount;
    revenue[order.currency] = (revenue[order.currency] ?? 0) + amount;
    statusCounts[order.status] = (statusCounts[order.status] ?? 0) + 1;
  }
  const ordersByDay = [...rows.values()].sort((a, b) =>
    a.date === b.date ? a.currency.localeCompare(b.currency) : a.date.localeCompare(b.date),
  );
  return { ordersByDay, totals: { orders: orders.length, revenue }, statusCounts };
}
