/**
 * Money is an integer amount of minor units plus an ISO currency. Every sum and product is
 * checked to stay a safe integer, so a total is never silently rounded.
 */

export const DEFAULT_CURRENCY = "USD";

export class MoneyError extends RangeError {
  override name = "MoneyError";
}

export function isAmount(n: unknown): n is number {
  return typeof n === "number" && Number.isSafeInteger(n) && n >= 0;
}

function checked(n: number, what: string): number {
  if (!isAmount(n)) throw new MoneyError(`${what} is not a safe non-negative integer amount: ${n}`);
  return n;
}

export function lineTotal(unitPrice: number, quantity: number): number {
  checked(unitPrice, "unit price");
  checked(quantity, "quantity");
  return checked(unitPrice * quantity, "line total");
}

export function sum(amounts: readonly number[]): number {
  return amounts.reduce((acc, a) => checked(acc + checked(a, "amount"), "sum"), 0);
}

/** The one currency of a set of prices, or null when they differ (or there are none). */
export function commonCurrency(currencies: readonly string[]): string | null {
  if (currencies.length === 0) return null;
  return currencies.every((c) => c === currencies[0]) ? currencies[0] : null;
}
