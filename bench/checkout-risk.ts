/**
 * Phase R of bench/checkout.ts (its header says what it measures): the checkout's CPU per order
 * with and without the risk step's scoring, in one node switched between rounds
 * (bench/risk-toggle-preload.ts) or, with BENCH_R_NODES=2, in two.
 */
import fs from "node:fs";
import path from "node:path";
import {
  CHECKOUT,
  SECONDS,
  consistency,
  load,
  median,
  nodeOptions,
  signUsers,
  spread,
  startNode,
  waitReady,
  type Row,
} from "./checkout";
import { profileShare } from "./profile-share";
import { freePort, kill, tmpDir } from "./support";

/**
 * Pairs of rounds and their length: many short rounds, so the host's swings (which last seconds)
 * fall mostly within a pair. Each round's CPU is read in 10 ms ticks, so 1 s is about as short
 * as they can be.
 */
const R_PAIRS = Number(process.env.BENCH_R_PAIRS ?? 60);
const R_SECONDS = Number(process.env.BENCH_R_SECONDS ?? 1);
/** Customers: the shop's many, so that each account has a few recent orders, not a thousand. */
export const R_USERS = Number(process.env.BENCH_R_USERS ?? 3000);

export async function riskRounds(seeded: string) {
  return process.env.BENCH_R_NODES === "2" ? riskTwoNodes(seeded) : riskOneNode(seeded);
}

const riskNode = async (name: string, seeded: string, extra: Record<string, string>, ipc = false) => {
  const port = await freePort();
  const child = startNode(
    name,
    CHECKOUT,
    { DATA_DIR: tmpDir(`bench-co-${name}-`, seeded), PORT: String(port), ...extra },
    0,
    ipc,
  );
  return { child, base: `http://127.0.0.1:${port}` };
};

/** ABBA rounds of `on` and `off`; the CPU per order of each pair, with / without. */
async function riskPairs(on: (r: number) => Promise<Row>, off: (r: number) => Promise<Row>) {
  const pairs: Array<{ cpu: number; rps: number }> = [];
  for (let r = 1; r <= R_PAIRS; r++) {
    let w: Row, wo: Row;
    if (r % 2) [w, wo] = [await on(r), await off(r)];
    else [wo, w] = [await off(r), await on(r)];
    pairs.push({ cpu: w.cpuUs / wo.cpuUs, rps: w.rps / wo.rps });
  }
  console.log(`    CPU per order with / without, each pair: ${pairs.map((p) => p.cpu.toFixed(3)).join(" ")}`);
  return { cpu: median(pairs.map((p) => p.cpu)), rps: median(pairs.map((p) => p.rps)) };
}

/** The risk step's own work, callees included (mixins/order-risk.mixin.ts, domain/risk*.ts). */
const SCORING_FUNCTIONS = ["scoreRisk", "riskFacts", "accountCreatedAt", "accountFacts", "assess"];

/**
 * One node, its risk step switched on and off between rounds (bench/risk-toggle-preload.ts):
 * both sides share the process, its heap and its stored orders. BENCH_R_SAME=1 keeps scoring on
 * in every round (A/A: the spread between rounds alone).
 */
async function riskOneNode(seeded: string) {
  const preload = path.join(__dirname, "risk-toggle-preload.js");
  const profileDir = process.env.BENCH_R_PROFILE_DIR;
  if (profileDir) {
    fs.mkdirSync(profileDir, { recursive: true });
    // This run's rounds only.
    for (const f of fs.readdirSync(profileDir))
      if (/^with(out)?-\d+\.cpuprofile$/.test(f)) fs.rmSync(path.join(profileDir, f));
  }
  const { child, base } = await riskNode(
    "risk",
    seeded,
    { ...nodeOptions(`--require ${preload}`), ...(profileDir ? { BENCH_R_PROFILE_DIR: profileDir } : {}) },
    true,
  );
  const scoring = (on: boolean) =>
    new Promise<void>((resolve) => {
      child.once("message", () => resolve());
      child.send({ scoring: on || Boolean(process.env.BENCH_R_SAME) });
    });
  try {
    await waitReady(base);
    const tokens = await signUsers(base, R_USERS);
    await load("R warm-up (not counted)", base, tokens, spread, SECONDS);
    const round = (on: boolean) => async (r: number) => {
      await scoring(on);
      return load(`R ${on ? "with" : "without"} risk scoring #${r}`, base, tokens, spread, R_SECONDS);
    };
    const result = await riskPairs(round(true), round(false));
    await scoring(true); // ends the last round's profile (BENCH_R_PROFILE_DIR)
    await consistency("R", base);
    if (profileDir) {
      const { share } = profileShare(profileDir, "with-", SCORING_FUNCTIONS);
      console.log(
        `    scoring's own code, share of the main thread's busy time in the scored rounds: ${(share * 100).toFixed(2)} %`,
      );
    }
    return result;
  } finally {
    await kill([child], process.env.BENCH_PROFILE ? 15_000 : undefined);
  }
}

/**
 * Two nodes up for the whole phase, one with its risk step off (bench/risk-toggle-preload.ts).
 * BENCH_R_SAME=1 scores on both (A/A between two processes); BENCH_R_ON_OPTIONS sets the scored
 * node's NODE_OPTIONS.
 */
async function riskTwoNodes(seeded: string) {
  const onOptions = process.env.BENCH_R_ON_OPTIONS;
  const scored = await riskNode("risk-on", seeded, onOptions ? nodeOptions(onOptions) : {});
  const preload = path.join(__dirname, "risk-toggle-preload.js");
  const unscored = await riskNode(
    "risk-off",
    seeded,
    process.env.BENCH_R_SAME ? {} : { ...nodeOptions(`--require ${preload}`), BENCH_R_SCORING: "0" },
  );
  try {
    await Promise.all([waitReady(scored.base), waitReady(unscored.base)]);
    const [tokensOn, tokensOff] = await Promise.all([
      signUsers(scored.base, R_USERS),
      signUsers(unscored.base, R_USERS),
    ]);
    await load("R warm-up, scoring (not counted)", scored.base, tokensOn, spread, SECONDS);
    await load("R warm-up, no scoring (not counted)", unscored.base, tokensOff, spread, SECONDS);
    const result = await riskPairs(
      (r) => load(`R with risk scoring #${r}`, scored.base, tokensOn, spread, R_SECONDS),
      (r) => load(`R without risk scoring #${r}`, unscored.base, tokensOff, spread, R_SECONDS),
    );
    await consistency("R (scored node)", scored.base);
    return result;
  } finally {
    await kill([scored.child, unscored.child], process.env.BENCH_PROFILE ? 15_000 : undefined);
  }
}
