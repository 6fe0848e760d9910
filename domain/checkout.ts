/**
 * Checkout rules with no broker: pricing an order from the catalogue, the stored order document,
 * the shape it is answered in, and which response an order's outcome gives.
 */
import type { StoredRisk } from "./risk";
import type {
  ReviewDecision,
  Order,
  OrderLine,
  OrderStatus,
  PaymentStatus,
  PricingTotals,
  ReturnLine,
  ShippingAddress,
  StockLevel,
} from "../contracts";
import type { StoredResponse } from "./idempotency";
import { commonCurrency, sum } from "./money";
import { MAX_LINES, MAX_QUANTITY, toOrderLine, type CatalogVariant } from "./cart";
import { CARD_TOKENS } from "./payments";
import type { HistoryEntry, SagaStep } from "./order-state";
import { invalidField } from "./rule-error";

/** A line whose variant is known: `productId` is the stock id (its variant's id) in inventory calls. */
export interface RequestedLine {
  productId: string;
  quantity: number;
}

/** A requested line once its variant is resolved from the catalogue. */
export interface ResolvedLine {
  variant: CatalogVariant;
  quantity: number;
}

/** An order's pricing as stored (absent on orders placed before regions: see pricingView). */
export type OrderPricing = Omit<PricingTotals, "total"> & {
  /** The promotion whose use the saga counts, and whose limit per customer counts this key. */
  promotionId?: string;
  customerKey?: string;
};

export interface OrderDoc extends Partial<OrderPricing> {
  _id: string;
  kind: "order";
  /** null for a guest's order (mixins/guest-orders.mixin.ts). */
  userId: string | null;
  /** The cart the order's lines leave (a guest cart's id); absent on older orders: the user's. */
  cartId?: string;
  /** A guest order's buyer address, and the hash of its order token. */
  email?: string;
  orderTokenHash?: string;
  items: OrderLine[];
  subtotal: number;
  total: number;
  currency: string;
  status: OrderStatus;
  history: HistoryEntry[];
  payment: { id: string | null; status: PaymentStatus | "pending"; clientSecret?: string };
  /** Refunded so far; raised only by one conditional update per refund (orders refunds mixin). */
  refundedTotal?: number;
  /** Refund ids counted in refundedTotal: a retried refund is counted once. */
  refundIds?: string[];
  /** Return ids, and the lines they hold (requested or refunded; a rejected return gives its lines back). */
  returns?: string[];
  returnedLines?: ReturnLine[];
  /** Raised by every change of returnedLines: the compare-and-set that keeps returns within the order. */
  returnsRev?: number;
  /** Kept so a driver taking over after a crash can still charge. */
  paymentToken: string;
  shippingAddress: ShippingAddress;
  fromCart: boolean;
  step: SagaStep;
  /** Refused before anything was held (no stock): never shown, kept for the idempotent answer. */
  hidden: boolean;
  failure?: { status: 409; type: string; message: string; data: unknown };
  reason?: string;
  /** Only while the saga runs: a finished order holds no lease. */
  leaseUntil?: number;
  /**
   * Fencing token of the driver holding the lease (a fresh id per claim). Every compare-and-set
   * of a driver names it, so one that lost the order to another can no longer move it.
   */
  leaseOwner?: string;
  /** Set by the risk step (mixins/risk-step.ts); shown to admins only. */
  risk?: StoredRisk;
  /** Fingerprints of the card and client address the order came with (risk counts). */
  riskCard?: string;
  /** riskCard again when other accounts may hold the card too (a real token): looked up by it. */
  riskCardShared?: string;
  riskAddress?: string;
  /** An order on hold is cancelled after this (epoch ms): its reservation has run out by then. */
  heldUntil?: number;
  review?: { decision: ReviewDecision; by: string; at: string };
  createdAt: string;
  updatedAt: string;
}

/** One line per variant, quantities of a variant asked twice (by productId or variantId) added. */
export function mergeResolved(lines: readonly ResolvedLine[]): ResolvedLine[] {
  const byVariant = new Map<string, ResolvedLine>();
  for (const l of lines) {
    const seen = byVariant.get(l.variant.variantId);
    byVariant.set(l.variant.variantId, { variant: l.variant, quantity: (seen?.quantity ?? 0) + l.quantity });
  }
  return [...byVariant.values()];
}

/** Lines priced from their variants (resolved and checked orderable before). */
export function priceLines(
  lines: readonly ResolvedLine[],
  field: "items" | "cart",
): { items: OrderLine[]; subtotal: number; currency: string } {
  const items = lines.map(({ variant: v, quantity }) => toOrderLine({ ...v, unitPrice: v.price, quantity }));
  const currency = commonCurrency(lines.map((l) => l.variant.currency));
  if (!currency)
    throw invalidField(field, "currencyMismatch", "Every product of an order must share one currency");
  return { items, subtotal: sum(items.map((l) => l.lineTotal)), currency };
}

/** The stock id of an order line: its variant (a line stored before variants: its product). */
export function stockIdOf(
  line: Pick<OrderLine, "productId"> & Partial<Pick<OrderLine, "variantId">>,
): string {
  return line.variantId ?? line.productId;
}

/** The reservation lines of an order: one per variant, keyed by stock id. */
export function reservationLines(items: readonly OrderLine[]): RequestedLine[] {
  return items.map((l) => ({ productId: stockIdOf(l), quantity: l.quantity }));
}

/** The 409 INSUFFICIENT_STOCK data: the short lines' products (each once) and variants. */
export function shortageData(items: readonly OrderLine[], shortStockIds: readonly string[]) {
  const short = items.filter((l) => shortStockIds.includes(stockIdOf(l)));
  return {
    productIds: [...new Set(short.map((l) => l.productId))],
    variantIds: short.map(stockIdOf),
  };
}

export function newOrder(o: {
  id: string;
  userId: string | null;
  priced: { items: OrderLine[]; subtotal: number; currency: string };
  token: string;
  shippingAddress: ShippingAddress;
  fromCart: boolean;
  nowMs: number;
  leaseMs: number;
  /** The fencing token of the driver that creates the order. */
  leaseOwner: string;
}): OrderDoc {
  const at = new Date(o.nowMs).toISOString();
  return {
    _id: o.id,
    kind: "order",
    userId: o.userId,
    ...o.priced,
    total: o.priced.subtotal,
    status: "pending",
    history: [{ status: "pending", at }],
    payment: { id: null, status: "pending" },
    paymentToken: o.token,
    shippingAddress: o.shippingAddress,
    fromCart: o.fromCart,
    step: "reserve",
    hidden: false,
    leaseUntil: o.nowMs + o.leaseMs,
    leaseOwner: o.leaseOwner,
    createdAt: at,
    updatedAt: at,
  };
}

export function orderView(d: OrderDoc): Order {
  return {
    id: d._id,
    userId: d.userId,
    ...(d.email !== undefined ? { email: d.email } : {}),
    items: d.items,
    subtotal: d.subtotal,
    ...pricingView(d),
    total: d.total,
    currency: d.currency,
    status: d.status,
    payment: d.payment,
    shippingAddress: d.shippingAddress,
    history: d.history,
    refundedTotal: d.refundedTotal ?? 0,
    returns: d.returns ?? [],
    createdAt: d.createdAt,
    updatedAt: d.updatedAt,
  };
}

/** An order's pricing fields; an order placed before regions was in the default region. */
export function pricingView(d: Partial<OrderPricing>): Omit<PricingTotals, "total"> {
  return {
    regionId: d.regionId ?? null,
    promotionCode: d.promotionCode ?? null,
    discountTotal: d.discountTotal ?? 0,
    shippingOption: d.shippingOption ?? null,
    shippingTotal: d.shippingTotal ?? 0,
    taxRate: d.taxRate ?? 0,
    taxInclusive: d.taxInclusive ?? false,
    taxTotal: d.taxTotal ?? 0,
  };
}

/**
 * The products of `lines` that stock cannot cover: the one inventory refused, plus any other
 * line whose available units (read just after) are below the quantity asked.
 */
export function shortProducts(
  lines: readonly RequestedLine[],
  refused: string,
  levels: StockLevel[],
): string[] {
  const available = new Map(levels.map((l) => [l.productId, l.available]));
  const short = lines
    .filter((l) => l.productId === refused || (available.get(l.productId) ?? 0) < l.quantity)
    .map((l) => l.productId);
  return short.length ? short : [refused];
}

/** The answer a finished checkout gives (the same for every replay of its Idempotency-Key). */
export function outcome(d: OrderDoc): StoredResponse {
  if (d.failure)
    return { status: 409, error: { message: d.failure.message, type: d.failure.type, data: d.failure.data } };
  if (d.status === "on_hold") return { status: 202, body: orderView(d) };
  if (d.status === "payment_failed")
    return {
      status: 402,
      error: { message: "Payment declined", type: "PAYMENT_DECLINED", data: { order: orderView(d) } },
    };
  // 3-D Secure: accepted, the customer finishes it with payment.clientSecret
  if (d.status === "requires_action") return { status: 202, body: orderView(d) };
  return { status: 201, body: orderView(d) };
}

const ID = { type: "string", min: 1, max: 100 } as const;
/** A simulated test token or a Stripe PaymentMethod id; the configured provider's kind is checked in orders. */
const CARD_TOKEN = {
  type: "string",
  pattern: new RegExp(`^(${CARD_TOKENS.join("|")}|pm_[A-Za-z0-9_]{1,200})$`),
} as const;
const TEXT = { type: "string", trim: true, min: 1, max: 200 } as const;

/**
 * The strict schema of POST /api/orders: prices, totals and statuses are never accepted from a
 * client (`unitPrice`, `total` or `status` anywhere in the body: 422).
 */
export const PLACE_ORDER_PARAMS = {
  $$strict: true,
  regionId: { ...ID, optional: true },
  shippingOptionId: { ...ID, optional: true },
  promotionCode: { type: "string", min: 1, max: 100, optional: true },
  items: {
    type: "array",
    optional: true,
    min: 1,
    max: MAX_LINES,
    items: {
      type: "object",
      strict: true,
      props: {
        productId: { ...ID, optional: true },
        variantId: { ...ID, optional: true },
        quantity: { type: "number", integer: true, min: 1, max: MAX_QUANTITY },
      },
    },
  },
  payment: {
    type: "object",
    strict: true,
    props: { method: { type: "enum", values: ["card"] }, token: CARD_TOKEN },
  },
  shippingAddress: {
    type: "object",
    strict: true,
    // Or shippingAddressId, or (signed in) the default address: mixins/guest-orders.mixin.ts.
    optional: true,
    props: {
      name: TEXT,
      line1: TEXT,
      line2: { ...TEXT, optional: true },
      city: TEXT,
      postalCode: { ...TEXT, max: 20 },
      country: { ...TEXT, max: 60 },
    },
  },
  shippingAddressId: { ...ID, optional: true },
  /** A guest's address for the order's emails (required without a bearer). */
  email: { type: "email", normalize: true, max: 254, optional: true },
} as const;
