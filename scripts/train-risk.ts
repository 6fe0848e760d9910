/**
 * `npm run train:risk`: trains the order-risk logistic regression on a seeded synthetic labelled
 * set, prints precision, recall and ROC AUC on a held-out fifth, chooses the `high` and
 * `elevated` thresholds for the stated false-positive rates, and writes
 * models/risk-model.v1.json (the file the orders service loads at start). The same seed gives the
 * same file. Flags: `-- --seed 21 --orders 20000 --out <file>`.
 *
 * The set: honest orders (a few orders an hour at most, the odd typo decline, established
 * accounts, amounts near the account's usual, the usual country) and three kinds of fraud drawn
 * with overlap and 2 % flipped labels, so the problem is not trivially separable:
 * - card testing: bursts of orders and declines from one account or address, several cards;
 * - a stolen card spread over fresh accounts: many orders of one card;
 * - account takeover: an old account, an amount far above its usual, a new shipping country;
 * - new-account fraud: a fresh account, a first order, a large amount, a busy client address.
 */
import fs from "node:fs";
import path from "node:path";
import { FEATURES, featureVector, type RiskFacts } from "../domain/risk-features";
import { fit, precisionRecall, probability, rocAuc, thresholdForFpr } from "../domain/logistic";
import { MODEL_FILE, checkModel, type RiskModelFile } from "../domain/risk";
import { intIn, seeded, shuffled, type Random } from "../domain/random";

const FPR_HIGH = 0.01;
const FPR_ELEVATED = 0.05;
const FRAUD_SHARE = 0.06;
const LABEL_NOISE = 0.02;
const L2 = 0.05;

function flag(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
}

/** Poisson draw (Knuth): counts of events in an hour. */
function poisson(rnd: Random, mean: number): number {
  const limit = Math.exp(-mean);
  let k = 0;
  for (let p = rnd(); p > limit; p *= rnd()) k++;
  return k;
}
const logNormal = (rnd: Random, median: number, sigma: number) =>
  median * Math.exp(sigma * Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd()));
const chance = (rnd: Random, p: number) => rnd() < p;

function honest(rnd: Random): RiskFacts {
  const typical = logNormal(rnd, 6000, 0.8);
  const history = chance(rnd, 0.3) ? 0 : intIn(rnd, 1, 12);
  const ordersByUser = poisson(rnd, 0.3);
  const declinesByUser = chance(rnd, 0.04) ? intIn(rnd, 1, 2) : 0;
  return {
    ordersByUser,
    declinesByUser,
    ordersByCard: ordersByUser,
    declinesByCard: declinesByUser,
    // Shared addresses (offices, carriers' NAT); none known for a fifth (loopback, no address).
    ordersByAddress: chance(rnd, 0.2) ? 0 : ordersByUser + poisson(rnd, 0.5),
    declinesByAddress: declinesByUser + (chance(rnd, 0.03) ? 1 : 0),
    cardsOfUser: chance(rnd, 0.08) ? 2 : 1,
    // Many first orders come minutes after the signup.
    accountAgeDays: history
      ? logNormal(rnd, 300, 1)
      : chance(rnd, 0.5)
        ? rnd() * 0.05
        : logNormal(rnd, 20, 1.5),
    amount: Math.round(logNormal(rnd, typical, 0.5)),
    earlierAmounts: Array.from({ length: history }, () => Math.round(logNormal(rnd, typical, 0.4))),
    shippingCountry: chance(rnd, 0.05) ? "FR" : "DE",
    earlierCountries: history ? ["DE"] : [],
  };
}

function fraud(rnd: Random): RiskFacts {
  const base = honest(rnd);
  const kind = rnd();
  if (kind < 0.3) {
    const tries = intIn(rnd, 1, 12);
    const declines = intIn(rnd, 0, tries);
    return {
      ...base,
      ordersByUser: tries,
      declinesByUser: declines,
      // Many cards, each tried a few times.
      ordersByCard: intIn(rnd, 0, Math.min(tries, 2)),
      declinesByCard: intIn(rnd, 0, Math.min(declines, 2)),
      ordersByAddress: tries + poisson(rnd, 2),
      declinesByAddress: declines + poisson(rnd, 1),
      cardsOfUser: intIn(rnd, 1, 8),
    };
  }
  if (kind < 0.45) {
    // One stolen card spread over several fresh accounts.
    const uses = intIn(rnd, 2, 10);
    return {
      ...base,
      ordersByCard: uses,
      declinesByCard: intIn(rnd, 0, uses),
      ordersByAddress: base.ordersByAddress + intIn(rnd, 0, uses),
      accountAgeDays: rnd() * 3,
      earlierAmounts: [],
      earlierCountries: [],
    };
  }
  if (kind < 0.7)
    return {
      ...base,
      accountAgeDays: logNormal(rnd, 400, 0.8),
      earlierAmounts: base.earlierAmounts.length ? base.earlierAmounts : [4000, 5200, 6100],
      earlierCountries: ["DE"],
      amount: Math.round(base.amount * logNormal(rnd, 5, 0.7)),
      shippingCountry: chance(rnd, 0.75) ? "NG" : "DE",
      cardsOfUser: chance(rnd, 0.4) ? 2 : 1,
    };
  return {
    ...base,
    accountAgeDays: rnd() * 2,
    earlierAmounts: [],
    earlierCountries: [],
    amount: Math.round(logNormal(rnd, 25000, 0.7)),
    ordersByAddress: poisson(rnd, 3),
    ordersByUser: poisson(rnd, 1),
  };
}

export function syntheticSet(seed: number, n: number): { x: number[][]; y: number[] } {
  const rnd = seeded(seed);
  const x: number[][] = [];
  const y: number[] = [];
  for (let i = 0; i < n; i++) {
    const isFraud = chance(rnd, FRAUD_SHARE);
    x.push(featureVector(isFraud ? fraud(rnd) : honest(rnd)));
    y.push(chance(rnd, LABEL_NOISE) ? Number(!isFraud) : Number(isFraud));
  }
  return { x, y };
}

export function train(seed: number, n: number) {
  const { x, y } = syntheticSet(seed, n);
  const order = shuffled(
    seeded(seed + 1),
    x.map((_, i) => i),
  );
  const cut = Math.floor(n * 0.8);
  const [trainIdx, testIdx] = [order.slice(0, cut), order.slice(cut)];
  const model = fit(
    trainIdx.map((i) => x[i]),
    trainIdx.map((i) => y[i]),
    // Per-account and per-card counts move together; a stronger L2 shares the weight between them.
    { l2: L2 },
  );
  const scores = testIdx.map((i) => Math.round(probability(model, x[i]) * 100));
  const labels = testIdx.map((i) => y[i]);
  const candidates = Array.from({ length: 101 }, (_, i) => i);
  const high = thresholdForFpr(scores, labels, FPR_HIGH, candidates);
  const elevated = Math.min(high, thresholdForFpr(scores, labels, FPR_ELEVATED, candidates));
  const atHigh = precisionRecall(scores, labels, high);
  const atElevated = precisionRecall(scores, labels, elevated);
  const auc = rocAuc(scores, labels);
  const r = (v: number) => Math.round(v * 1e4) / 1e4;
  const file: RiskModelFile = checkModel({
    version: 1,
    features: [...FEATURES],
    weights: model.weights.map((w) => Math.round(w * 1e6) / 1e6),
    bias: Math.round(model.bias * 1e6) / 1e6,
    means: model.means.map((v) => Math.round(v * 1e6) / 1e6),
    scales: model.scales.map((v) => Math.round(v * 1e6) / 1e6),
    thresholds: { elevated, high },
    training: {
      command: `npm run train:risk -- --seed ${seed} --orders ${n}`,
      heldOut: testIdx.length,
      heldOutFraud: labels.filter((l) => l === 1).length,
      rocAuc: r(auc),
      high: { falsePositiveRateTarget: FPR_HIGH, ...mapValues(atHigh, r) },
      elevated: { falsePositiveRateTarget: FPR_ELEVATED, ...mapValues(atElevated, r) },
    },
  });
  return { file, auc, atHigh, atElevated, heldOut: testIdx.length, fraud: labels.filter((l) => l).length };
}

const mapValues = (o: Record<string, number>, f: (v: number) => number) =>
  Object.fromEntries(Object.entries(o).map(([k, v]) => [k, f(v)]));

if (require.main === module) {
  const seed = Number(flag("seed", "21"));
  const n = Number(flag("orders", "20000"));
  const out = flag("out", path.join(__dirname, "..", "..", "models", MODEL_FILE));
  const t = train(seed, n);
  const pct = (v: number) => `${(v * 100).toFixed(1)} %`;
  console.log(`seed ${seed}: ${n} synthetic orders, held out ${t.heldOut} (${t.fraud} labelled fraud)`);
  console.log(`ROC AUC on the held-out set: ${t.auc.toFixed(4)}`);
  for (const [level, at, target] of [
    ["high", t.atHigh, FPR_HIGH],
    ["elevated", t.atElevated, FPR_ELEVATED],
  ] as const)
    console.log(
      `${level.padEnd(8)} score >= ${String(t.file.thresholds[level]).padStart(3)} (chosen for a false-positive rate <= ${pct(target)}): ` +
        `precision ${pct(at.precision)}, recall ${pct(at.recall)}, false-positive rate ${pct(at.falsePositiveRate)}`,
    );
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, `${JSON.stringify(t.file, null, 2)}\n`);
  console.log(`weights written to ${path.relative(process.cwd(), out)}`);
}
