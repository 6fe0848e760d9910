/**
 * Preloaded (`node --require`) by bench/checkout.ts's phase R into the node it runs "without
 * scoring": the risk step then moves every order on unscored, so the two nodes differ in the
 * scoring alone (its reads of the orders collection, the users.contact call, the model). Bench
 * only: no product setting can switch scoring off (API.md: every order is scored).
 */
import { OrderRiskMixin } from "../mixins/order-risk.mixin";

const unscored = { score: 0, level: "low" as const, reasons: [], model: 0 };
OrderRiskMixin.methods!.scoreRisk = async () => ({ risk: unscored, hold: false, set: {} });
