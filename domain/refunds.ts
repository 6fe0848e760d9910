/**
 * Refund and return arithmetic (API.md "Refunds and returns"), integer minor units only.
 * What must stay true: no refund, alone or summed with the others, exceeds what was charged
 * (`total − refundedTotal`); the service enforces the sum with one conditional update.
 * Orders placed before regions/tax/promotions lack their fields: they read as 0 / false.
 */
import type { OrderLine, OrderStatus, ReturnLine } from "../contracts";
import { RuleError, invalidField } from "./rule-error";

/** `roundHalfUp(a × b / c)` = `floor((2·a·b + c) / (2·c))` (API.md "Regions, tax, ..."). */
export function mulDivHalfUp(a: number, b: number, c: number): number {
  return Math.floor((2 * a * b + c) / (2 * c));
}

/** The amounts a refund is computed from, with the defaults of an order that lacks them. */
export interface OrderAmounts {
  subtotal: number;
  total: number;
  discountTotal: number;
  shippingTotal: number;
  taxTotal: number;
  taxRate: number;
  taxInclusive: boolean;
  refundedTotal: number;
}

export function amountsOf(o: Partial<OrderAmounts> & { subtotal: number; total: number }): OrderAmounts {
  return {
    subtotal: o.subtotal,
    total: o.total,
    discountTotal: o.discountTotal ?? 0,
    shippingTotal: o.shippingTotal ?? 0,
    taxTotal: o.taxTotal ?? 0,
    taxRate: o.taxRate ?? 0,
    taxInclusive: o.taxInclusive ?? false,
    refundedTotal: o.refundedTotal ?? 0,
  };
}

/** An order whose money was captured and not given back whole. */
export const PAID_STATUSES: readonly OrderStatus[] = ["confirmed", "shipped", "delivered"];
export const RETURNABLE_STATUSES: readonly OrderStatus[] = ["shipped", "delivered"];

export const refundable = (o: OrderAmounts): number => Math.max(0, o.total - o.refundedTotal);

/** 409 unless the order is paid; 422 on `amount` when it is more than what is left to refund. */
export function checkRefund(status: OrderStatus, o: OrderAmounts, amount: number): void {
  if (!PAID_STATUSES.includes(status))
    throw new RuleError(409, "ORDER_NOT_PAID", `An order in status ${status} cannot be refunded`, { status });
  if (amount > refundable(o)) throw refundTooLarge(o);
}

export const refundTooLarge = (o: OrderAmounts) =>
  invalidField(
    "amount",
    "refundExceedsTotal",
    `The amount is more than what is left to refund (${refundable(o)} of ${o.total})`,
  );

/**
 * What a return refunds: `r` = Σ unitPrice × quantity of the returned lines, less its share of
 * the discount, plus its tax when prices were net; never the shipping; never more than is left.
 */
export function returnRefundAmount(
  lines: readonly { unitPrice: number; quantity: number }[],
  o: OrderAmounts,
): number {
  const r = lines.reduce((s, l) => s + l.unitPrice * l.quantity, 0);
  const share = o.subtotal > 0 ? mulDivHalfUp(o.discountTotal, r, o.subtotal) : 0;
  const net = r - share;
  const amount = o.taxInclusive ? net : net + mulDivHalfUp(net, o.taxRate, 10000);
  return Math.max(0, Math.min(amount, refundable(o)));
}

/** Quantities of each variant already returned (requested or refunded), summed. */
export function sumLines(lines: readonly ReturnLine[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const l of lines) m.set(l.variantId, (m.get(l.variantId) ?? 0) + l.quantity);
  return m;
}

/**
 * The order lines a return takes back (each variant once, quantities added). 422 on `items`
 * naming the line for an unknown variant or more than ordered minus already returned.
 */
export function returnLines(
  items: readonly OrderLine[],
  asked: readonly ReturnLine[],
  alreadyReturned: readonly ReturnLine[],
): { lines: ReturnLine[]; priced: { unitPrice: number; quantity: number }[] } {
  const wanted = sumLines(asked);
  const returned = sumLines(alreadyReturned);
  const priced: { unitPrice: number; quantity: number }[] = [];
  const lines: ReturnLine[] = [];
  for (const [variantId, quantity] of wanted) {
    const line = items.find((l) => (l.variantId ?? l.productId) === variantId);
    const field = `items[${asked.findIndex((a) => a.variantId === variantId)}]`;
    if (!line)
      throw invalidField(`${field}.variantId`, "notInOrder", `Variant ${variantId} is not in this order`);
    const left = line.quantity - (returned.get(variantId) ?? 0);
    if (quantity > left)
      throw invalidField(
        `${field}.quantity`,
        "returnExceedsOrdered",
        `Only ${left} of variant ${variantId} can still be returned`,
      );
    lines.push({ variantId, quantity });
    priced.push({ unitPrice: line.unitPrice, quantity });
  }
  return { lines, priced };
}
