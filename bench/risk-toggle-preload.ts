/**
 * Preloaded (`node --require`) by bench/checkout.ts's phase R into its one node: between rounds
 * the bench says whether the risk step scores (IPC message `{scoring: boolean}`, answered with
 * the same once it holds), so the rounds with and without scoring share one process: its heap,
 * its compiled code and the orders it stores. Two processes differed by ±10 % on the same code.
 * Unscored, the risk step moves every order on as no-risk-preload.ts does. Bench only: no product
 * setting can switch scoring off (API.md: every order is scored).
 */
import { OrderRiskMixin } from "../mixins/order-risk.mixin";
import type { RiskOutcome } from "../mixins/risk-step";

const unscored: RiskOutcome = {
  risk: { score: 0, level: "low", reasons: [], model: 0 },
  hold: false,
  set: {},
};
const score = OrderRiskMixin.methods!.scoreRisk as (...args: unknown[]) => Promise<RiskOutcome>;
let scoring = true;
OrderRiskMixin.methods!.scoreRisk = function (this: unknown, ...args: unknown[]) {
  return scoring ? score.apply(this, args) : Promise.resolve(unscored);
};

process.on("message", (message: { scoring?: unknown }) => {
  if (typeof message?.scoring !== "boolean") return;
  scoring = message.scoring;
  process.send?.({ scoring });
});
