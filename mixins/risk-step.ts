/**
 * The checkout saga's `risk` step (its row in checkout-steps.ts): the order is scored before it
 * is charged; at or above RISK_HOLD_LEVEL it waits `on_hold` (its stock stays reserved, nothing
 * is charged) with its saga `done` for now, until a review moves it on (mixins/order-risk.mixin.ts).
 * Scoring and the move are one compare-and-set, so a driver that runs the step again after a
 * crash scores afresh and nothing is recorded twice.
 *
 * No undo: the step takes nothing that must be given back. A held order that is cancelled,
 * rejected or expired is compensated by the steps before it (the reservation is released).
 */
import { Events } from "../contracts";
import type { OrderDoc } from "../domain/checkout";
import { transition } from "../domain/order-state";
import type { Risk } from "../domain/risk";
import type { Saga, Step, Via } from "./checkout-steps";

/** What scoring decided, and the fields to store with the order. */
export interface RiskOutcome {
  risk: Risk;
  hold: boolean;
  set: Partial<OrderDoc>;
}

/** The orders service, as the risk step sees it. */
export interface RiskSaga {
  scoreRisk(via: Via, d: OrderDoc): Promise<RiskOutcome>;
}

export const RISK_STEP: Step = {
  async run(saga: Saga & RiskSaga, via, d) {
    const { risk, hold, set } = await saga.scoreRisk(via, d);
    if (!hold) return saga.advance(d, { ...set, step: "charge" });
    const { score, level, reasons } = risk;
    const held = saga.newEvent(Events.orderHeld, d._id, {
      orderId: d._id,
      userId: d.userId,
      risk: { score, level, reasons },
    });
    const onHold = transition(d, "on_hold", new Date().toISOString());
    return saga.advance(d, { ...set, ...onHold, step: "done" }, [held]);
  },
};
