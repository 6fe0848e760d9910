/** Pure rules of notifications: template rendering, money formatting, retry classification. */

export type Vars = Record<string, unknown>;

const HTML_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};
export const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);

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
