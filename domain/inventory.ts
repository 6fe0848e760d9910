/**
 * Stock and reservation rules with no broker: line normalisation, the low-stock crossing, the
 * reservation state machine and the shapes stored and answered.
 */
import type {
  ProductStockLevel,
  Reservation,
  ReservationLine,
  ReservationState,
  StockLevel,
} from "../contracts";
import { invalidField } from "./rule-error";

export interface StockDoc {
  _id: string;
  kind: "stock";
  productId: string;
  /** The product whose variant this stock is, once inventory heard of it (product.* events). */
  ownerId?: string;
  available: number;
  reserved: number;
  deleted: boolean;
  /** Ids of the latest adjustments applied (inventory.adjust is at-least-once). */
  applied?: string[];
  /**
   * The units each live reservation holds, by holdKey(orderId). A hold is written in the same
   * update as the $inc that takes its units, and removed in the same update as the $inc that
   * gives them back or sells them: `reserved` is always the sum of the holds, and each move
   * happens at most once per order and line.
   */
  holds?: Record<string, Hold>;
}

export interface Hold {
  orderId: string;
  quantity: number;
  atMs: number;
}

export interface ReservationDoc {
  _id: string;
  kind: "reservation";
  orderId: string;
  lines: ReservationLine[];
  state: ReservationState;
  /**
   * Written with the state change that settles the reservation: the lines whose stock moves from
   * `movedFrom` to `state`. Each line's move is idempotent (a hold is removed once, a sale
   * returned once per order), so whoever finds a settlement unfinished (settlingSinceMs set)
   * moves them all again and clears settlingSinceMs.
   */
  moving: ReservationLine[];
  movedFrom?: ReservationState;
  settlingSinceMs?: number;
  /**
   * Reservations written before holds existed record their taken lines here and have no
   * `moving`; their settlement moves these without holds, each line pulled from `moving` once
   * moved (`unheld`), as moves without a hold are not idempotent.
   */
  taken?: ReservationLine[];
  unheld?: boolean;
  expiresAtMs: number;
  failedProductId?: string;
  createdAt: string;
}

/** Stock and reservations share the `stock` collection; an order's reservation has its own id space. */
export function reservationId(orderId: string): string {
  return `order:${orderId}`;
}

/** The key of an order's hold in a stock document: any orderId, made safe as a field name (no "." or "$"). */
export function holdKey(orderId: string): string {
  return Buffer.from(orderId, "utf8").toString("base64url");
}

/** The dotted path of an order's hold, for filters and updates. */
export function holdPath(orderId: string): string {
  return `holds.${holdKey(orderId)}`;
}

/** One line per product (quantities of repeated products added), taken in the order asked. */
export function normalizeLines(lines: ReservationLine[]): ReservationLine[] {
  const byProduct = new Map<string, number>();
  for (const l of lines) byProduct.set(l.productId, (byProduct.get(l.productId) ?? 0) + l.quantity);
  return [...byProduct].map(([productId, quantity]) => ({ productId, quantity }));
}

/** `inventory.low` is due when a change takes available from at/above the threshold to below it. */
export function crossesBelow(before: number, after: number, threshold: number): boolean {
  return before >= threshold && after < threshold;
}

/**
 * The least available stock from which taking `quantity` cannot cross the threshold: takes from
 * there on are one plain conditional update; only takes near the threshold need to know the
 * exact value before (to emit the event exactly once).
 */
export function noCrossingFloor(quantity: number, threshold: number): number {
  return quantity + threshold;
}

export type Settlement = "fail" | "release" | "commit" | "expire";

/** The reservation state machine: which states each settlement may claim, and where it leads. */
export const SETTLEMENTS: Record<Settlement, { from: ReservationState[]; to: ReservationState }> = {
  fail: { from: ["pending"], to: "failed" },
  release: { from: ["pending", "reserved", "committed"], to: "released" },
  commit: { from: ["reserved"], to: "committed" },
  expire: { from: ["pending", "reserved"], to: "expired" },
};

/** How one line's stock moves when its reservation goes from `from` to `to`. */
export function stockDelta(
  from: ReservationState,
  to: ReservationState,
  quantity: number,
): { available: number; reserved: number } {
  // Sold: the units leave the warehouse.
  if (to === "committed") return { available: 0, reserved: -quantity };
  // A cancelled sale: the units come back as new stock.
  if (from === "committed") return { available: quantity, reserved: 0 };
  // Held units given back.
  return { available: quantity, reserved: -quantity };
}

/** States in which a reservation may hold stock. */
export const HOLDING_STATES: readonly ReservationState[] = ["pending", "reserved"];

/**
 * Whether a hold belongs to nothing: its reservation is missing or settled and done moving. Such a
 * hold is a take that landed after its reservation was settled (a slow or duplicate reserve call
 * that crashed or lost the race); giving it back is right whichever way the reservation ended.
 * While a settlement is unfinished its holds are left to it.
 */
export function isOrphanHold(reservation: ReservationDoc | null): boolean {
  if (!reservation) return true;
  if (HOLDING_STATES.includes(reservation.state)) return false;
  return reservation.settlingSinceMs === undefined;
}

/** Held units going back to available. */
export function giveBack(quantity: number): { available: number; reserved: number } {
  return stockDelta("reserved", "released", quantity);
}

/** The id under which returning an order's sold units is applied once to a stock record. */
export function returnId(orderId: string): string {
  return `return:${orderId}`;
}

/** The lines a settlement of `reservation` moves, and whether their stock is under holds. */
export function linesToMove(reservation: ReservationDoc): { lines: ReservationLine[]; unheld: boolean } {
  if (reservation.moving !== undefined) return { lines: reservation.lines, unheld: false };
  return { lines: reservation.taken ?? [], unheld: true };
}

export function newStock(productId: string, available: number): StockDoc {
  return { _id: productId, kind: "stock", productId, available, reserved: 0, deleted: false };
}

/** A reservation about to take its lines ("pending"), or a tombstone ("released") for an unknown order. */
export function newReservation(
  orderId: string,
  lines: ReservationLine[],
  state: "pending" | "released",
  nowMs: number,
  ttlSeconds: number,
): ReservationDoc {
  return {
    _id: reservationId(orderId),
    kind: "reservation",
    orderId,
    lines,
    state,
    moving: [],
    expiresAtMs: state === "pending" ? nowMs + ttlSeconds * 1000 : nowMs,
    createdAt: new Date(nowMs).toISOString(),
  };
}

export function toReservation(doc: ReservationDoc): Reservation {
  return {
    orderId: doc.orderId,
    state: doc.state,
    lines: doc.lines,
    expiresAt: new Date(doc.expiresAtMs).toISOString(),
  };
}

export function toStockLevel(doc: StockDoc): StockLevel {
  return { productId: doc.productId, available: doc.available, reserved: doc.reserved };
}

/**
 * `inventory.low` data: `variantId` is the stock id; `productId` its product when known (stamped
 * from product events), else the stock id, which is the product's for a simple product.
 */
export function lowStockData(doc: Pick<StockDoc, "_id" | "ownerId">, available: number, threshold: number) {
  return { productId: doc.ownerId ?? doc._id, variantId: doc._id, available, threshold };
}

/** The part of a catalogue product the stock rules read. */
export interface StockOwner {
  id: string;
  variants: { id: string; sku: string }[];
}

/** A simple product: its one variant has its id, so its stock level is that variant's. */
export function isOwnVariant(product: StockOwner): boolean {
  return product.variants.length === 1 && product.variants[0].id === product.id;
}

/**
 * GET /api/inventory/:id of a product with variants: each variant's level (0 when inventory has none yet)
 * and their sums, under the product's id.
 */
export function productLevel(product: StockOwner, docs: readonly StockDoc[]): ProductStockLevel {
  const byId = new Map(docs.map((d) => [d.productId, d]));
  const variants = product.variants.map((v) => ({
    variantId: v.id,
    sku: v.sku,
    available: byId.get(v.id)?.available ?? 0,
    reserved: byId.get(v.id)?.reserved ?? 0,
  }));
  return {
    productId: product.id,
    available: variants.reduce((n, v) => n + v.available, 0),
    reserved: variants.reduce((n, v) => n + v.reserved, 0),
    variants,
  };
}

/**
 * The stock id PUT /api/inventory/:id sets: a variant id as given, a single-variant product's
 * one variant; a product with several variants has no one level to set (422).
 */
export function stockIdToSet(id: string, product: StockOwner | null): string {
  if (!product) return id;
  if (product.variants.length === 1) return product.variants[0].id;
  throw invalidField(
    "productId",
    "variantRequired",
    `Product ${id} has variants: set the stock of one variant`,
  );
}

/** An external stock correction: `delta` units added to (or, negative, taken from) available. */
export interface AdjustStock {
  adjustmentId: string;
  productId: string;
  delta: number;
}

/** Why an adjustment cannot be applied, or null when it can. */
export function checkAdjustment(a: Partial<AdjustStock>): string | null {
  if (typeof a.adjustmentId !== "string" || !a.adjustmentId) return "adjustmentId must be a non-empty string";
  if (typeof a.productId !== "string" || !a.productId) return "productId must be a non-empty string";
  if (!Number.isInteger(a.delta) || a.delta === 0) return "delta must be a non-zero integer";
  return null;
}
