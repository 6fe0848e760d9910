/**
 * Preloaded (`node --require`) by bench/checkout-risk.ts (phase R of bench/checkout) into its one
 * node: between rounds the bench says whether the risk step scores (IPC message
 * `{scoring: boolean}`, answered with the same once it holds), so the rounds with and without
 * scoring share one process: its heap, its compiled code and the orders it stores. Two processes
 * differed by ±10 % on the same code. BENCH_R_SCORING=0 starts with scoring off (the unscored node
 * of the two-node mode). Unscored, the risk step moves every order on with no risk stored.
 * Bench only: no product setting can switch scoring off (API.md: every order is scored).
 */
import fs from "node:fs";
import { Session } from "node:inspector";
import path from "node:path";
import { OrderRiskMixin } from "../mixins/order-risk.mixin";
import type { RiskOutcome } from "../mixins/risk-step";

const unscored: RiskOutcome = {
  risk: { score: 0, level: "low", reasons: [], model: 0 },
  hold: false,
  set: {},
};
const score = OrderRiskMixin.methods!.scoreRisk as (...args: unknown[]) => Promise<RiskOutcome>;
let scoring = process.env.BENCH_R_SCORING !== "0";
OrderRiskMixin.methods!.scoreRisk = function (this: unknown, ...args: unknown[]) {
  return scoring ? score.apply(this, args) : Promise.resolve(unscored);
};

/**
 * BENCH_R_PROFILE_DIR: a V8 CPU profile of each round, written there as `<with|without>-<n>.cpuprofile`
 * when the next round is called, so the two sides' profiles come from one process.
 */
const profileDir = process.env.BENCH_R_PROFILE_DIR;
const session = profileDir ? new Session() : undefined;
const post = (method: string) =>
  new Promise<any>((resolve, reject) =>
    session!.post(method, (err, result) => (err ? reject(err) : resolve(result))),
  );
let rounds = 0;
session?.connect();

/** Ends the round that ran (its profile saved) and starts the next one's profile. */
async function nextRound() {
  if (!session) return;
  if (rounds++ > 0) {
    const { profile } = await post("Profiler.stop");
    const name = `${scoring ? "with" : "without"}-${rounds - 1}.cpuprofile`;
    fs.writeFileSync(path.join(profileDir!, name), JSON.stringify(profile));
  }
  await post("Profiler.enable");
  await post("Profiler.start");
}

process.on("message", (message: { scoring?: unknown }) => {
  if (typeof message?.scoring !== "boolean") return;
  const on = message.scoring;
  void nextRound().then(() => {
    scoring = on;
    process.send?.({ scoring });
  });
});
