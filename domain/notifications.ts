/**
 * Pure rules of notifications: what an event sends, template rendering, money formatting, retry
 * classification, and what a worker does with a delivery record it finds.
 */
import { Events, type EventEnvelope, type UserContact } from "../contracts";

export type Vars = Record<string, unknown>;
export type Channel = "email" | "sms";

/** One message an event asks for: rendered from `template`, sent only when `enabled`. */
export interface Planned {
  channel: Channel;
  template: string;
  to: string | null;
  enabled: boolean;
  vars: Vars;
}

const HTML_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};
export const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);

/** "T-shirt (M / Red)"; a product without options (variant "Default") is just its name. */
function lineLabel(line: { name: string; variantTitle?: string; sku?: string }): string {
  const variant = line.variantTitle && line.variantTitle !== "Default" ? ` (${line.variantTitle})` : "";
  return `${line.name}${variant}${line.sku ? `, SKU ${line.sku}` : ""}`;
}

/**
 * A small mustache subset: `{{name}}` and `{{#list}}...{{/list}}` (each item's fields in scope).
 * With `html`, every value is escaped: names and addresses come from users.
 */
export function render(template: string, vars: Vars, html: boolean): string {
  const withSections = template.replace(
    /\{\{#(\w+)\}\}([\s\S]*?)\{\{\/\1\}\}/g,
    (_, key: string, body: string) => {
      const list = vars[key];
      return Array.isArray(list) ? list.map((item) => render(body, { ...vars, ...item }, html)).join("") : "";
    },
  );
  return withSections.replace(/\{\{(\w+)\}\}/g, (_, key: string) => {
    const v = vars[key];
    const s = v === undefined || v === null ? "" : String(v);
    return html ? escapeHtml(s) : s;
  });
}

/** 1999 USD -> "$19.99": minor units in the currency's own number of decimals. */
export function formatMoney(minor: number, currency: string, locale = "en-US"): string {
  const fmt = new Intl.NumberFormat(locale, { style: "currency", currency });
  const digits = fmt.resolvedOptions().maximumFractionDigits ?? 2;
  return fmt.format(minor / 10 ** digits);
}

/** Retrying helps only when the failure is the provider's or the network's, not the message's. */
export function isTransient(err: any): boolean {
  const status = Number(err?.status ?? err?.statusCode);
  if (status) return status === 429 || status >= 500;
  const smtp = Number(err?.responseCode);
  if (smtp) return smtp >= 400 && smtp < 500;
  // No answer at all: connection refused, reset, timed out, DNS.
  return true;
}

/** Exponential backoff: base, 2x base, 4x base, ... capped. */
export function backoffMs(attempt: number, baseMs: number, capMs = 30_000): number {
  return Math.min(capMs, baseMs * 2 ** (attempt - 1));
}

/** One delivery record: an (event, channel) pair, claimed by one worker at a time. */
export interface DeliveryDoc {
  _id: string;
  eventId: string;
  channel: Channel;
  template: string;
  to: string | null;
  userId: string;
  status: "pending" | "sent" | "failed" | "skipped";
  attempts: number;
  createdAt: number;
  /** Until when `owner` may work on it; 0 once given back. */
  leaseUntil: number;
  /** The node working on it, null when nobody is. */
  owner: string | null;
  /** Raised by every claim: a write carrying an older fence is a lapsed owner's and changes nothing. */
  fence: number;
  sentAt?: number;
  error?: string;
}

/** What a worker that meets an existing delivery record does with it. */
export type ClaimVerdict = { kind: "done" } | { kind: "busy"; retryInMs: number } | { kind: "take" };

/**
 * Finished records are left alone; a pending one under another worker's live lease must come back
 * once the lease ends (its owner may die); a pending one nobody holds is taken over.
 */
export function claimVerdict(doc: Pick<DeliveryDoc, "status" | "leaseUntil">, now: number): ClaimVerdict {
  if (doc.status !== "pending") return { kind: "done" };
  if (doc.leaseUntil > now) return { kind: "busy", retryInMs: doc.leaseUntil - now };
  return { kind: "take" };
}

/**
 * The Message-ID of a delivery's email: one per (event, channel), the same on every attempt. A
 * node killed between SMTP's "250 OK" and the record of it leaves the delivery pending, and the
 * node that takes it over sends it again; receivers that drop a Message-ID they already hold
 * (Gmail, Sieve's `duplicate`, Mailpit's --ignore-duplicate-ids) then show it once.
 */
export function messageIdOf(eventId: string, channel: string, domain = "shop.local"): string {
  const local = `${eventId}.${channel}`.replace(/[^\w.!#$%&'*+/=?^`{|}~-]/g, "-");
  return `<${local}@${domain}>`;
}

/** Attempts are counted across workers: a takeover continues the count, it does not restart it. */
export function isLastAttempt(attempt: number, maxAttempts: number, transient: boolean): boolean {
  return !transient || attempt >= maxAttempts;
}

/** What an event sends, to whom, and whether the user's preferences allow it. */
export function planDeliveries(evt: EventEnvelope, user: UserContact): Planned[] {
  const data: any = evt.data;
  const money = (n: number) => formatMoney(n, data.currency ?? "USD");
  const base = { name: user.name, email: user.email, orderId: data.orderId, reason: data.reason };
  const email = (name: string, vars: Vars = {}): Planned => ({
    channel: "email",
    template: name,
    to: user.email,
    enabled: user.notifications.email,
    vars: { ...base, ...vars },
  });
  switch (evt.type) {
    case Events.userRegistered:
      return [email("welcome")];
    case Events.orderPlaced: {
      const items = (data.items ?? []).map((i: any) => ({
        ...i,
        item: lineLabel(i),
        unitPrice: money(i.unitPrice),
        lineTotal: money(i.lineTotal),
      }));
      const vars = { items, total: money(data.total), count: items.length };
      return [
        email("order-confirmation", vars),
        {
          channel: "sms",
          template: "order-confirmation",
          to: user.phone ?? null,
          enabled: Boolean(user.phone) && user.notifications.sms,
          vars: { ...base, ...vars },
        },
      ];
    }
    case Events.orderPaymentFailed:
      return [email("payment-failed")];
    case Events.orderCancelled:
      return [email("order-cancelled")];
    case Events.returnRequested:
      return [
        email("return-requested", {
          returnId: data.returnId,
          count: (data.items ?? []).length,
          refundAmount: money(data.refundAmount ?? 0),
        }),
      ];
    case Events.orderRefunded:
      return [email("order-refunded", { refundId: data.refundId, amount: money(data.amount) })];
    default:
      return [];
  }
}

/** API.md's delivery, as `GET /api/notifications` lists it. */
export function toDelivery(d: DeliveryDoc) {
  return {
    id: d._id,
    channel: d.channel,
    template: d.template,
    to: d.to,
    status: d.status,
    eventId: d.eventId,
    createdAt: new Date(d.createdAt).toISOString(),
  };
}
