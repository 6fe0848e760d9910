/**
 * Preloaded (`node --require`) by bench/checkout-risk.ts (phase R of bench/checkout) into its one
 * node: between rounds the bench says what the risk step does (IPC message `{mode}`, answered
 * once it holds), so the rounds of each comparison share one process: its heap, its compiled
 * code and the orders it stores. Two processes differed by ±10 % on the same code.
 * BENCH_R_SCORING=0 starts with scoring off (the unscored node of the two-node mode). Unscored,
 * the risk step moves every order on with no risk stored.
 * Bench only: no product setting can switch scoring off (API.md: every order is scored).
 */
import fs from "node:fs";
import { Session } from "node:inspector";
import path from "node:path";
import { PerformanceObserver, constants } from "node:perf_hooks";
import { OrderRiskMixin } from "../mixins/order-risk.mixin";
import type { RiskOutcome } from "../mixins/risk-step";
import { cardFingerprint } from "../domain/risk-features";

/** What the node does for each order in a round (sent by bench/checkout-risk.ts). */
export interface Mode {
  scoring: boolean;
  /**
   * Scorings more per order, their outcome dropped: each of an earlier order of another customer
   * (one of the last RECENT scored with `extra` set, 0 included, so its account's orders are as
   * long untouched as a real scoring's), at a random moment of the next 20 ms, among the other
   * orders' work (its code and data as cold as the real scoring's), not back to back.
   */
  extra?: number;
  /** Unscored: the order still stores this many copies of the fields scoring stores. */
  fields?: number;
  /** Unscored: the order is scored all the same, apart as `extra`'s are, its outcome dropped. */
  apart?: boolean;
}

const unscored: RiskOutcome = {
  risk: { score: 0, level: "low", reasons: [], model: 0 },
  hold: false,
  set: {},
};
const score = OrderRiskMixin.methods!.scoreRisk as (...args: unknown[]) => Promise<RiskOutcome>;
let mode: Mode = { scoring: process.env.BENCH_R_SCORING !== "0" };
const RECENT = 3000;
const recent: unknown[][] = [];
let next = 0;
/** A stored risk of the usual length. */
const RISK = JSON.stringify({ score: 7, level: "low", reasons: ["new account"], model: 1 });
/** The stored risk and the card's fingerprint, `copies` times. */
const storedFields = (d: { userId?: string; paymentToken: string }, copies: number) => {
  const set: Record<string, string> = {};
  const card = cardFingerprint(`${d.userId}\u0000${d.paymentToken}`);
  for (let i = 0; i < copies; i++) {
    set[i ? `risk${i}` : "risk"] = RISK;
    set[i ? `riskCard${i}` : "riskCard"] = card;
  }
  return set;
};
/** Scores `order` at a random moment of the next 20 ms, its outcome dropped. */
const later = (service: unknown, order: unknown[]) =>
  setTimeout(() => score.apply(service, order).catch(() => undefined), Math.random() * 20);
OrderRiskMixin.methods!.scoreRisk = async function (this: unknown, ...args: unknown[]) {
  const { scoring, extra = 0, fields = 0, apart } = mode;
  if (!scoring) {
    if (apart) later(this, args);
    return fields ? { ...unscored, set: storedFields(args[1] as any, fields) } : unscored;
  }
  for (let i = 0; i < extra && recent.length; i++)
    later(this, recent[Math.floor(Math.random() * recent.length)]);
  // Kept only where both sides keep them: the orders and contexts held are memory for the GC.
  if (mode.extra !== undefined) recent[next++ % RECENT] = args;
  return score.apply(this, args);
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
    const name = `${mode.scoring ? "with" : "without"}-${rounds - 1}.cpuprofile`;
    fs.writeFileSync(path.join(profileDir!, name), JSON.stringify(profile));
  }
  await post("Profiler.enable");
  await post("Profiler.start");
}

/**
 * The main thread's GC pauses since the last `{gc: true}` message (µs, minor and major):
 * scoring's garbage is a cost its own code's profile does not show.
 */
const gc = { minorUs: 0, majorUs: 0 };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    const major =
      (e as unknown as { detail?: { kind?: number } }).detail?.kind !== constants.NODE_PERFORMANCE_GC_MINOR;
    if (major) gc.majorUs += e.duration * 1000;
    else gc.minorUs += e.duration * 1000;
  }
}).observe({ entryTypes: ["gc"] });

process.on("message", (message: { mode?: Mode; gc?: unknown }) => {
  if (message?.gc === true) {
    process.send?.({ gc: { ...gc } });
    Object.assign(gc, { minorUs: 0, majorUs: 0 });
    return;
  }
  if (typeof message?.mode?.scoring !== "boolean") return;
  const wanted = message.mode;
  void nextRound().then(() => {
    mode = wanted;
    process.send?.({ mode });
  });
});
