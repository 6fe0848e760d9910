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
// Type only: the preload itself runs in the bench's node, never in this process.
import type { Mode } from "./risk-toggle-preload";
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
/** Extra scorings per order, and copies of scoring's fields per order, of the amplified parts. */
const R_TIMES = Number(process.env.BENCH_R_TIMES ?? 10);
/** Which comparisons run (each of R_PAIRS pairs): BENCH_R_PARTS, default the first three. */
const R_PARTS = new Set((process.env.BENCH_R_PARTS ?? "direct,compute,store").split(","));

/**
 * The comparisons of the one-node mode. `direct` is the plain one: as shipped against a
 * stub, too spread to tell 5 % from 2 % (bench/RESULTS.md). The other two multiply what they
 * compare R_TIMES-fold, so a cost of one point reads as ten: `compute` is the work of one
 * scoring (reads, model), `store` what keeping its result on the order costs (the fields, their
 * later writes and their memory). `inline` (not run unless asked) compares the same work inside
 * the order's step and apart from it.
 */
const COMPARISONS = [
  {
    part: "direct",
    label: "as shipped / risk step stubbed out",
    on: { scoring: true },
    off: { scoring: Boolean(process.env.BENCH_R_SAME) },
    times: 1,
  },
  {
    part: "compute",
    label: `scored ${R_TIMES + 1} times / once`,
    on: { scoring: true, extra: R_TIMES },
    off: { scoring: true, extra: 0 },
    times: R_TIMES,
    // Fills the preload's list of recent orders the extra scorings pick from (~3,000).
    primeSeconds: 10,
  },
  {
    part: "store",
    label: `unscored, ${R_TIMES} copies of scoring's fields stored / none`,
    on: { scoring: false, fields: R_TIMES },
    off: { scoring: false },
    times: R_TIMES,
  },
  {
    part: "inline",
    label: "as shipped / unscored, its fields stored, the same scoring run apart",
    on: { scoring: true },
    off: { scoring: false, fields: 1, apart: true },
    times: 1,
  },
] satisfies Array<{
  part: keyof RiskResult;
  label: string;
  on: Mode;
  off: Mode;
  times: number;
  primeSeconds?: number;
}>;

export interface RiskResult {
  /** The direct comparison's median, with / without (or the two-node one's). */
  direct?: { cpu: number; rps: number };
  /** Cost of one scoring's work and of storing its result, each as a share of CPU per order. */
  compute?: number;
  store?: number;
  /** What running the scoring inside the order's step costs beyond running it apart. */
  inline?: number;
}

export async function riskRounds(seeded: string): Promise<RiskResult> {
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

/** A round, with the node's GC pauses in it per order (one-node mode). */
type RiskRow = Row & { gc?: GcPerOrder };
interface GcPerOrder {
  minorUs: number;
  majorUs: number;
}

/** ABBA rounds of `on` and `off`; the median of the pairs' CPU per order, with / without. */
async function riskPairs(on: (r: number) => Promise<RiskRow>, off: (r: number) => Promise<RiskRow>) {
  const pairs: Array<{ cpu: number; rps: number }> = [];
  const gcs: { with: GcPerOrder[]; without: GcPerOrder[] } = { with: [], without: [] };
  for (let r = 1; r <= R_PAIRS; r++) {
    let w: RiskRow, wo: RiskRow;
    if (r % 2) [w, wo] = [await on(r), await off(r)];
    else [wo, w] = [await off(r), await on(r)];
    pairs.push({ cpu: w.cpuUs / wo.cpuUs, rps: w.rps / wo.rps });
    if (w.gc && wo.gc) {
      gcs.with.push(w.gc);
      gcs.without.push(wo.gc);
    }
  }
  console.log(`    CPU per order with / without, each pair: ${pairs.map((p) => p.cpu.toFixed(3)).join(" ")}`);
  if (gcs.with.length) {
    const mean = (rows: GcPerOrder[], k: keyof GcPerOrder) =>
      (rows.reduce((t, g) => t + g[k], 0) / rows.length).toFixed(1);
    const show = (rows: GcPerOrder[]) => `minor ${mean(rows, "minorUs")}, major ${mean(rows, "majorUs")}`;
    console.log(
      `    main thread's GC pauses, µs per order, with: ${show(gcs.with)}; without: ${show(gcs.without)}`,
    );
  }
  return { cpu: median(pairs.map((p) => p.cpu)), rps: median(pairs.map((p) => p.rps)) };
}

/** The risk step's own work, callees included (mixins/order-risk.mixin.ts, domain/risk*.ts). */
const SCORING_FUNCTIONS = [
  "scoreRisk",
  "riskFacts",
  "sharedCounts",
  "accountCreatedAt",
  "accountFacts",
  "assess",
];

/**
 * One node, switched between rounds (bench/risk-toggle-preload.ts): both sides of each comparison
 * share the process, its heap and its stored orders. BENCH_R_SAME=1 scores on both sides of the
 * direct comparison (A/A: the spread between rounds alone). BENCH_R_PROFILE_DIR runs the direct
 * comparison only.
 */
async function riskOneNode(seeded: string): Promise<RiskResult> {
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
  const ask = <T>(message: object) =>
    new Promise<T>((resolve) => {
      child.once("message", (answer) => resolve(answer as T));
      child.send(message);
    });
  try {
    await waitReady(base);
    const tokens = await signUsers(base, R_USERS);
    // The customers' tokens carry their signup times: no round asks users for them.
    await load("R warm-up (not counted)", base, tokens, spread, SECONDS);
    const round = (mode: Mode, name: string) => async (r: number) => {
      await ask({ mode });
      await ask({ gc: true }); // counts from here
      const row = await load(`R ${name} #${r}`, base, tokens, spread, R_SECONDS);
      const { gc } = await ask<{ gc: GcPerOrder }>({ gc: true });
      const n = Math.max(1, row.orders);
      return { ...row, gc: { minorUs: gc.minorUs / n, majorUs: gc.majorUs / n } };
    };
    const result: RiskResult = {};
    for (const c of COMPARISONS) {
      if (!R_PARTS.has(c.part) || (profileDir && c.part !== "direct")) continue;
      console.log(`  R ${c.part}: ${c.label}`);
      if ("primeSeconds" in c && c.primeSeconds) {
        await ask({ mode: c.off });
        await load(`R ${c.part}, not counted`, base, tokens, spread, c.primeSeconds);
      }
      const m = await riskPairs(round(c.on, `${c.part}, with`), round(c.off, `${c.part}, without`));
      if (c.part === "direct") result.direct = m;
      else result[c.part as "compute" | "store" | "inline"] = (m.cpu - 1) / c.times;
    }
    await ask({ mode: { scoring: true } }); // ends the last round's profile (BENCH_R_PROFILE_DIR)
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
    const direct = await riskPairs(
      (r) => load(`R with risk scoring #${r}`, scored.base, tokensOn, spread, R_SECONDS),
      (r) => load(`R without risk scoring #${r}`, unscored.base, tokensOff, spread, R_SECONDS),
    );
    await consistency("R (scored node)", scored.base);
    return { direct };
  } finally {
    await kill([scored.child, unscored.child], process.env.BENCH_PROFILE ? 15_000 : undefined);
  }
}
