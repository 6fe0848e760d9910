/** Money is integer minor units (API.md): shown in major units of its currency. */
export function money(amount: number | null | undefined, currency = "USD"): string {
  if (amount === null || amount === undefined || Number.isNaN(amount)) return "–";
  try {
    return new Intl.NumberFormat("en", { style: "currency", currency }).format(amount / 100);
  } catch {
    return `${(amount / 100).toFixed(2)} ${currency}`;
  }
}

/** A form's money input: major units typed ("19.99"), minor units stored (1999). */
export const toMinor = (v: string | number | null | undefined) =>
  v === "" || v === null || v === undefined || Number.isNaN(Number(v)) ? null : Math.round(Number(v) * 100);
export const toMajor = (v: number | string | null | undefined) =>
  v === null || v === undefined || v === "" ? "" : Number(v) / 100;

export const ORDER_STATUSES = [
  "pending",
  "on_hold",
  "requires_action",
  "confirmed",
  "shipped",
  "delivered",
  "payment_failed",
  "cancelled",
].map((id) => ({ id, name: id.replace("_", " ") }));
