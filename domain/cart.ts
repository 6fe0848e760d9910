/**
 * Cart rules with no broker: one cart per user, lines keep the product's name and unit price as
 * last read from the catalogue, quantity 1-100 per line, at most 50 lines, one currency.
 */
import type { Cart, OrderLine } from "../contracts";
import { DEFAULT_CURRENCY, commonCurrency, lineTotal, sum } from "./money";
import { RuleError, invalidField } from "./rule-error";

export const MAX_LINES = 50;
export const MAX_QUANTITY = 100;

export interface CartLine {
  productId: string;
  name: string;
  unitPrice: number;
  currency: string;
  quantity: number;
}

export interface CartDoc {
  /** The user's id: one cart per user. */
  _id: string;
  items: CartLine[];
  version: number;
  /** The latest orders whose lines were taken out of this cart (removeOrdered is idempotent). */
  ordersRemoved?: string[];
  createdAt: string;
  updatedAt: string;
}

/** What the catalogue says about a product now; null when it is gone. */
export interface CatalogPrice {
  name: string;
  price: number;
  currency: string;
}

export function emptyCart(userId: string, now: string): CartDoc {
  return { _id: userId, items: [], version: 0, createdAt: now, updatedAt: now };
}

function checkCurrency(items: CartLine[], currency: string): void {
  if (items.length && items[0].currency !== currency)
    throw invalidField(
      "productId",
      "currencyMismatch",
      `The cart is in ${items[0].currency}; this product is priced in ${currency}`,
    );
}

/** Adds `quantity` to the product's line, or appends a new line. */
export function addLine(
  items: CartLine[],
  productId: string,
  product: CatalogPrice,
  quantity: number,
): CartLine[] {
  const existing = items.find((l) => l.productId === productId);
  const total = (existing?.quantity ?? 0) + quantity;
  if (total > MAX_QUANTITY)
    throw invalidField("quantity", "numberMax", `A line holds at most ${MAX_QUANTITY} units`);
  const fresh = { name: product.name, unitPrice: product.price, currency: product.currency };
  if (existing)
    return items.map((l) => (l.productId === productId ? { ...l, ...fresh, quantity: total } : l));
  if (items.length >= MAX_LINES)
    throw invalidField("productId", "arrayMax", `A cart holds at most ${MAX_LINES} lines`);
  checkCurrency(items, product.currency);
  return [...items, { productId, ...fresh, quantity }];
}

/** Sets a line's quantity; 0 removes it. */
export function setQuantity(items: CartLine[], productId: string, quantity: number): CartLine[] {
  if (!items.some((l) => l.productId === productId)) throw notInCart(productId);
  if (quantity === 0) return items.filter((l) => l.productId !== productId);
  return items.map((l) => (l.productId === productId ? { ...l, quantity } : l));
}

export function removeLine(items: CartLine[], productId: string): CartLine[] {
  return setQuantity(items, productId, 0);
}

/** How many order ids a cart remembers: a saga re-runs its clearCart step soon, not 20 orders later. */
export const REMEMBERED_ORDERS = 20;

/**
 * The cart once an order's lines are taken out: each ordered quantity is subtracted from its
 * product's line and lines reaching 0 go; anything added since the order was priced stays.
 */
export function removeOrdered(
  items: CartLine[],
  ordered: readonly { productId: string; quantity: number }[],
): CartLine[] {
  const taken = new Map<string, number>();
  for (const l of ordered) taken.set(l.productId, (taken.get(l.productId) ?? 0) + l.quantity);
  return items
    .map((l) => ({ ...l, quantity: l.quantity - (taken.get(l.productId) ?? 0) }))
    .filter((l) => l.quantity > 0);
}

/** The order ids to keep after `orderId` was removed, newest last, at most REMEMBERED_ORDERS. */
export function rememberOrder(remembered: readonly string[] | undefined, orderId: string): string[] {
  return [...(remembered ?? []), orderId].slice(-REMEMBERED_ORDERS);
}

export function notInCart(productId: string): RuleError {
  return new RuleError(404, "NOT_IN_CART", "Product is not in the cart", { productId });
}

/**
 * The lines as the catalogue describes them now: a changed name or price is taken over, a
 * deleted product's line is dropped. `changed` says whether the stored cart needs a write.
 */
export function refreshLines(
  items: CartLine[],
  catalogue: ReadonlyMap<string, CatalogPrice | null>,
): { items: CartLine[]; changed: boolean } {
  let changed = false;
  const next: CartLine[] = [];
  for (const line of items) {
    const p = catalogue.get(line.productId);
    if (p === undefined) {
      next.push(line);
      continue;
    }
    if (p === null) {
      changed = true;
      continue;
    }
    if (p.name !== line.name || p.price !== line.unitPrice || p.currency !== line.currency) changed = true;
    next.push({ ...line, name: p.name, unitPrice: p.price, currency: p.currency });
  }
  return { items: next, changed };
}

export function toOrderLine(l: {
  productId: string;
  name: string;
  unitPrice: number;
  quantity: number;
}): OrderLine {
  return {
    productId: l.productId,
    name: l.name,
    unitPrice: l.unitPrice,
    quantity: l.quantity,
    lineTotal: lineTotal(l.unitPrice, l.quantity),
  };
}

export function cartView(doc: Pick<CartDoc, "items" | "updatedAt">): Cart {
  const items = doc.items.map(toOrderLine);
  return {
    items,
    subtotal: sum(items.map((l) => l.lineTotal)),
    currency: commonCurrency(doc.items.map((l) => l.currency)) ?? DEFAULT_CURRENCY,
    updatedAt: doc.updatedAt,
  };
}
