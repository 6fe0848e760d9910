/**
 * The order state machine (API.md "Orders"): pending -> confirmed -> shipped -> delivered,
 * pending -> payment_failed, confirmed -> cancelled; an order held for review (API.md "order
 * risk"): pending -> on_hold -> confirmed | cancelled, or payment_failed when the card is declined
 * once an admin approved it. Anything else is refused with 409.
 *
 * Beside it, the checkout saga's own progress (`SagaStep`): which idempotent step a driver runs
 * next. The status is what the customer sees; the step is what is left to do.
 */
import type { OrderStatus, ReservationState } from "../contracts";
import { RuleError } from "./rule-error";

export const TRANSITIONS: Readonly<Record<OrderStatus, readonly OrderStatus[]>> = {
  pending: ["confirmed", "payment_failed", "requires_action", "on_hold"],
  confirmed: ["shipped", "cancelled"],
  shipped: ["delivered"],
  delivered: [],
  payment_failed: [],
  cancelled: [],
  // 3-D Secure: the provider's webhook (or the client's confirmation) settles it.
  requires_action: ["confirmed", "payment_failed"],
  on_hold: ["confirmed", "cancelled", "payment_failed"],
};

export function canTransition(from: OrderStatus, to: OrderStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

export interface HistoryEntry {
  status: OrderStatus;
  at: string;
}

/** The status and history after moving to `to`; 409 when the machine does not allow it. */
export function transition(
  order: { status: OrderStatus; history: readonly HistoryEntry[] },
  to: OrderStatus,
  at: string,
): { status: OrderStatus; history: HistoryEntry[] } {
  if (!canTransition(order.status, to))
    throw new RuleError(409, "ILLEGAL_TRANSITION", `An order cannot go from ${order.status} to ${to}`, {
      from: order.status,
      to,
    });
  return { status: to, history: [...order.history, { status: to, at }] };
}

/**
 * [promotion ->] reserve -> risk -> charge -> commit -> clearCart -> done on the happy path
 * (promotion: an order with a code counts its use first; risk scores the order and may hold it:
 * `done` for now, until a review moves it to `charge` or `cancel`); release after a declined
 * charge; cancel (refund, then return the stock) after a cancellation. Every step is idempotent by
 * order id, so a driver that takes over after a crash simply runs the current step again.
 */
export type SagaStep =
  | "promotion"
  | "reserve"
  | "risk"
  | "charge"
  | "commit"
  | "clearCart"
  | "release"
  | "cancel"
  | "done"
  // Parked, no driver, no lease: the payment waits for the customer (payment.* events resume it).
  | "awaitPayment";

/** Steps at which a driver stops: nothing is left to do now. */
export const RESTING_STEPS: readonly SagaStep[] = ["done", "awaitPayment"];

export const ACTIVE_STEPS: readonly SagaStep[] = [
  "promotion",
  "reserve",
  "risk",
  "charge",
  "commit",
  "clearCart",
  "release",
  "cancel",
];

export function afterCommit(fromCart: boolean): SagaStep {
  return fromCart ? "clearCart" : "done";
}

/**
 * What a driver that resumes an order at `charge` does, by the state of its reservation (null:
 * inventory refused it, nothing held). Committed means sold: an earlier driver was charged and
 * committed, so charging again (idempotent: the same payment) moves the order on, never a refund.
 * Only stock that is gone (refused, released, expired) voids the payment.
 */
export function resumedCharge(reservation: ReservationState | null): "charge" | "wait" | "refund" {
  switch (reservation) {
    case "reserved":
    case "committed":
      return "charge";
    case "pending":
      return "wait";
    case null:
    case "failed":
    case "released":
    case "expired":
      return "refund";
  }
}
