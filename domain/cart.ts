/**
 * Cart rules with no broker: one cart per user, one line per variant (API.md "Variants and
 * options"), each keeping its product's name, the variant's sku, title and unit price as last
 * read from the catalogue, quantity 1-100 per line, at most 50 lines, one currency. A line whose
 * variant became inactive or was removed stays in the cart marked `unavailable` and is left out
 * of `subtotal` (checkout refuses it); a line of a deleted product is dropped. Lines stored
 * before variants (no variantId) are their product's default variant, whose id is the product's.
 */
import type { Cart, CartChoices, OrderLine, PricingTotals } from "../contracts";
import { DEFAULT_CURRENCY, commonCurrency, lineTotal, sum } from "./money";
import { RuleError, invalidField } from "./rule-error";
import { inCurrency } from "./pricing";

export const MAX_LINES = 50;
export const MAX_QUANTITY = 100;

export interface CartLine {
  productId: string;
  /** Lines stored before variants lack it: normalizeLine gives the product id (its default variant). */
  variantId: string;
  sku: string;
  name: string;
  variantTitle: string;
  unitPrice: number;
  currency: string;
  quantity: number;
}

export interface CartDoc extends CartChoices {
  /** The user's id: one cart per user. */
  _id: string;
  items: CartLine[];
  version: number;
  /** The latest orders whose lines were taken out of this cart (removeOrdered is idempotent). */
  ordersRemoved?: string[];
  createdAt: string;
  updatedAt: string;
}

/** What the catalogue says about one variant now (`active`: the variant and its product). */
export interface CatalogVariant {
  productId: string;
  variantId: string;
  sku: string;
  name: string;
  variantTitle: string;
  price: number;
  currency: string;
  /** Its prices in other currencies (API.md "Prices"), when the catalogue gave them. */
  prices?: Record<string, number>;
  active: boolean;
}

/** The part of a catalogue product these rules read (API.md `product`). */
export interface CatalogProduct {
  id: string;
  name: string;
  currency: string;
  active: boolean;
  variants: {
    id: string;
    sku: string;
    title: string;
    price: number;
    prices?: Record<string, number>;
    active: boolean;
  }[];
}

export function emptyCart(userId: string, now: string): CartDoc {
  return { _id: userId, items: [], version: 0, createdAt: now, updatedAt: now };
}

/** A line as stored before variants (no variantId) reads as its product's default variant. */
export function normalizeLine(
  line: Omit<CartLine, "variantId" | "sku" | "variantTitle"> & Partial<CartLine>,
): CartLine {
  return {
    ...line,
    variantId: line.variantId ?? line.productId,
    sku: line.sku ?? "",
    variantTitle: line.variantTitle ?? "",
  };
}

/** The variant a line names, from its product: `variantId`, or the only variant when it is absent. */
export function variantIn(product: CatalogProduct, variantId?: string): CatalogVariant | null {
  const v = variantId === undefined ? undefined : product.variants.find((x) => x.id === variantId);
  if (variantId !== undefined && !v) return null;
  const only = v ?? product.variants[0];
  return {
    productId: product.id,
    variantId: only.id,
    sku: only.sku,
    name: product.name,
    variantTitle: only.title,
    price: only.price,
    currency: product.currency,
    ...(only.prices ? { prices: only.prices } : {}),
    active: product.active && only.active,
  };
}

/** Reads a product (null: gone) and the product of a variant id (null: no such variant). */
export interface CatalogLookup {
  product(productId: string): Promise<CatalogProduct | null>;
  productOf(variantId: string): Promise<string | null>;
}

/**
 * The variant a requested line names (API.md: `variantId`, or `productId` alone for a
 * single-variant product; both must agree), active and orderable. `prefix` places the field in
 * the request (`items[2].`); `missing` says how an unknown product or variant is refused.
 */
export async function resolveVariant(
  line: { productId?: string; variantId?: string },
  lookup: CatalogLookup,
  prefix: string,
  missing: (field: "productId" | "variantId", id: string) => RuleError,
): Promise<CatalogVariant> {
  const field = `${prefix}variantId`;
  let { productId } = line;
  const { variantId } = line;
  if (productId === undefined && variantId === undefined)
    throw invalidField(
      field,
      "required",
      "A line names a variantId (or the productId of a single-variant product)",
    );
  if (productId === undefined) {
    productId = (await lookup.productOf(variantId!)) ?? undefined;
    if (productId === undefined) throw missing("variantId", variantId!);
  }
  const product = await lookup.product(productId);
  if (!product) throw missing("productId", productId);
  if (variantId === undefined && product.variants.length !== 1)
    throw invalidField(field, "variantRequired", `Product ${productId} has variants: name one by variantId`);
  const variant = variantIn(product, variantId);
  if (!variant)
    throw invalidField(
      field,
      "variantMismatch",
      `Variant ${variantId} is not a variant of product ${productId}`,
    );
  if (!variant.active)
    throw invalidField(field, "variantInactive", `Variant ${variant.variantId} cannot be ordered now`);
  return variant;
}

function checkCurrency(items: CartLine[], currency: string): void {
  if (items.length && items[0].currency !== currency)
    throw invalidField(
      "productId",
      "currencyMismatch",
      `The cart is in ${items[0].currency}; this product is priced in ${currency}`,
    );
}

function lineFrom(v: CatalogVariant): Omit<CartLine, "quantity"> {
  return {
    productId: v.productId,
    variantId: v.variantId,
    sku: v.sku,
    name: v.name,
    variantTitle: v.variantTitle,
    unitPrice: v.price,
    currency: v.currency,
  };
}

/** Adds `quantity` to the variant's line, or appends a new line. */
export function addLine(items: CartLine[], variant: CatalogVariant, quantity: number): CartLine[] {
  const { variantId } = variant;
  const existing = items.find((l) => l.variantId === variantId);
  const total = (existing?.quantity ?? 0) + quantity;
  if (total > MAX_QUANTITY)
    throw invalidField("quantity", "numberMax", `A line holds at most ${MAX_QUANTITY} units`);
  const fresh = lineFrom(variant);
  if (existing)
    return items.map((l) => (l.variantId === variantId ? { ...l, ...fresh, quantity: total } : l));
  if (items.length >= MAX_LINES)
    throw invalidField("productId", "arrayMax", `A cart holds at most ${MAX_LINES} lines`);
  checkCurrency(items, variant.currency);
  return [...items, { ...fresh, quantity }];
}

/** Sets the quantity of the variant's line; 0 removes it. */
export function setQuantity(items: CartLine[], variantId: string, quantity: number): CartLine[] {
  if (!items.some((l) => l.variantId === variantId)) throw notInCart(variantId);
  if (quantity === 0) return items.filter((l) => l.variantId !== variantId);
  return items.map((l) => (l.variantId === variantId ? { ...l, quantity } : l));
}

export function removeLine(items: CartLine[], variantId: string): CartLine[] {
  return setQuantity(items, variantId, 0);
}

/** How many order ids a cart remembers: a saga re-runs its clearCart step soon, not 20 orders later. */
export const REMEMBERED_ORDERS = 20;

/**
 * The cart once an order's lines are taken out: each ordered quantity is subtracted from its
 * product's line and lines reaching 0 go; anything added since the order was priced stays.
 */
export function removeOrdered(
  items: CartLine[],
  ordered: readonly { productId?: string; variantId?: string; quantity: number }[],
): CartLine[] {
  const taken = new Map<string, number>();
  for (const l of ordered) {
    // A line of an order placed before variants names its product: its default variant.
    const key = l.variantId ?? l.productId ?? "";
    taken.set(key, (taken.get(key) ?? 0) + l.quantity);
  }
  return items
    .map((l) => ({ ...l, quantity: l.quantity - (taken.get(l.variantId) ?? 0) }))
    .filter((l) => l.quantity > 0);
}

/** The order ids to keep after `orderId` was removed, newest last, at most REMEMBERED_ORDERS. */
export function rememberOrder(remembered: readonly string[] | undefined, orderId: string): string[] {
  return [...(remembered ?? []), orderId].slice(-REMEMBERED_ORDERS);
}

export function notInCart(variantId: string): RuleError {
  return new RuleError(404, "NOT_IN_CART", "Product is not in the cart", { productId: variantId, variantId });
}

/**
 * The lines as the catalogue describes them now: a changed name, sku, title or price is taken
 * over, a deleted product's line is dropped, and a line whose variant is inactive or gone is kept
 * but listed in `unavailable` (by variant id). `changed` says whether the stored cart needs a write.
 */
export function refreshLines(
  items: CartLine[],
  catalogue: ReadonlyMap<string, CatalogProduct | null>,
  /** A region's currency: each line is priced in it (a variant with no price in it is unavailable). */
  currency?: string,
): { items: CartLine[]; changed: boolean; unavailable: Set<string> } {
  let changed = false;
  const unavailable = new Set<string>();
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
    const found = variantIn(p, line.variantId);
    const v = found && currency ? inCurrency(found, currency) : found;
    if (!v || !v.active) {
      unavailable.add(line.variantId);
      next.push(line);
      continue;
    }
    const fresh = { ...line, ...lineFrom(v) };
    if ((Object.keys(fresh) as (keyof CartLine)[]).some((k) => fresh[k] !== line[k])) changed = true;
    next.push(fresh);
  }
  return { items: next, changed, unavailable };
}

export function toOrderLine(l: Omit<CartLine, "currency">): OrderLine {
  return {
    productId: l.productId,
    variantId: l.variantId,
    sku: l.sku,
    name: l.name,
    variantTitle: l.variantTitle,
    unitPrice: l.unitPrice,
    quantity: l.quantity,
    lineTotal: lineTotal(l.unitPrice, l.quantity),
  };
}

/** A cart's lines and subtotal, before its region, shipping, promotion and tax (mixins/cart-pricing). */
export type CartLinesView = Omit<Cart, keyof PricingTotals | "id">;

/** The cart answered: a line in `unavailable` shows `unavailable: true` and is not in `subtotal`. */
export function cartView(
  doc: Pick<CartDoc, "items" | "updatedAt">,
  unavailable: ReadonlySet<string> = new Set(),
): CartLinesView {
  const items = doc.items.map((l) => ({ ...toOrderLine(l), unavailable: unavailable.has(l.variantId) }));
  return {
    items,
    subtotal: sum(items.filter((l) => !l.unavailable).map((l) => l.lineTotal)),
    currency: commonCurrency(doc.items.map((l) => l.currency)) ?? DEFAULT_CURRENCY,
    updatedAt: doc.updatedAt,
  };
}
