/**
 * An order's fraud risk (API.md "Recommendations and order risk"): `{score 0-100, level, reasons}`
 * from a logistic regression over domain/risk-features.ts, trained by `npm run train:risk`
 * (weights in models/risk-model.v1.json), and rules an operator can read, which the model cannot
 * overrule: 5 declined payments of one account or client address within the hour make the next
 * order `high` (card testing) whatever the score says.
 */
import fs from "node:fs";
import path from "node:path";
import { FEATURES, featureVector, type Feature, type RiskFacts } from "./risk-features";
import { contributions, probability, type LogisticModel } from "./logistic";

export const RISK_LEVELS = ["low", "elevated", "high"] as const;
export type RiskLevel = (typeof RISK_LEVELS)[number];

export interface Risk {
  score: number;
  level: RiskLevel;
  reasons: string[];
  /** The weights file's version the score came from. */
  model: number;
}

/**
 * The risk as an order stores it: its JSON text. NeDB copies and checks an order field by field
 * on each of its later writes (the rest of its checkout); as an object the risk was two more
 * objects per order to copy, check and keep (the risk and its reasons). Orders stored before
 * hold the object.
 */
export type StoredRisk = Risk | string;

export const storedRisk = (risk: Risk): string => JSON.stringify(risk);

export const riskOf = (stored: StoredRisk): Risk =>
  typeof stored === "string" ? (JSON.parse(stored) as Risk) : stored;

/** The weights file. */
export interface RiskModelFile extends LogisticModel {
  version: number;
  features: string[];
  /** Score (0-100) from which an order is `elevated`, and `high`. */
  thresholds: { elevated: number; high: number };
  /** How it was trained and what it measured on its held-out set (for the reader). */
  training: Record<string, unknown>;
}

export const MODEL_FILE = "risk-model.v1.json";

/** The rank of a level: an order is held when its rank reaches the configured one. */
export const levelRank = (level: RiskLevel) => RISK_LEVELS.indexOf(level);
export const atLeast = (level: RiskLevel, floor: RiskLevel) => levelRank(level) >= levelRank(floor);

/** Declined payments in the hour from which the next order is `high` (API.md). */
export const CARD_TESTING_DECLINES = 5;

/** A rule: when `applies`, the order is at least `level` and gets the reason. */
interface Rule {
  reason: string;
  level: RiskLevel;
  applies(f: RiskFacts): boolean;
}

/** The rules, in the words an operator reads them in. */
export const RULES: readonly Rule[] = [
  {
    reason: "card_testing",
    level: "high",
    applies: (f) => f.declinesByUser >= CARD_TESTING_DECLINES || f.declinesByAddress >= CARD_TESTING_DECLINES,
  },
  { reason: "many_cards", level: "elevated", applies: (f) => f.cardsOfUser >= 4 },
];

/** What a feature that pushed the score up is called in `reasons`. */
const REASON_OF: Record<Feature, string> = {
  ordersByUser: "many_orders_account",
  declinesByUser: "declines_account",
  ordersByCard: "many_orders_card",
  declinesByCard: "declines_card",
  ordersByAddress: "many_orders_address",
  declinesByAddress: "declines_address",
  cardsOfUser: "several_cards",
  newAccount: "new_account",
  amountVsHistory: "amount_unusual",
  firstOrder: "first_order",
  newShippingCountry: "new_shipping_country",
};

/** A feature is named among the reasons when it adds at least this much to the logit. */
const REASON_MIN_LOGIT = 0.5;

export class RiskModelError extends Error {}

/** Checks a parsed weights file; the message names what is wrong. */
export function checkModel(raw: unknown): RiskModelFile {
  const m = raw as RiskModelFile;
  const fail = (what: string) => {
    throw new RiskModelError(`Risk model: ${what}`);
  };
  if (!m || typeof m !== "object") fail("not an object");
  if (!Number.isInteger(m.version) || m.version < 1) fail("version must be a positive integer");
  if (!Array.isArray(m.features) || m.features.join() !== FEATURES.join())
    fail(`features must be exactly ${FEATURES.join(", ")}`);
  for (const key of ["weights", "means", "scales"] as const)
    if (!Array.isArray(m[key]) || m[key].length !== FEATURES.length || !m[key].every(Number.isFinite))
      fail(`${key} must hold ${FEATURES.length} finite numbers`);
  if (m.scales.some((s) => s <= 0)) fail("scales must be positive");
  if (!Number.isFinite(m.bias)) fail("bias must be a finite number");
  const t = m.thresholds;
  if (!t || !(t.elevated >= 0 && t.elevated <= t.high && t.high <= 101))
    fail("thresholds must be 0 <= elevated <= high <= 101");
  return m;
}

/** The weights file, read and checked (at the orders service's start). */
export function loadModel(file: string): RiskModelFile {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    throw new RiskModelError(`Risk model: cannot read ${file} (${(err as Error).message})`);
  }
  try {
    return checkModel(JSON.parse(text));
  } catch (err) {
    if (err instanceof RiskModelError) throw err;
    throw new RiskModelError(`Risk model: ${file} is not JSON (${(err as Error).message})`);
  }
}

/** models/<MODEL_FILE> from the source tree or from dist/. */
export function defaultModelPath(from = __dirname): string {
  const candidates = [
    path.join(from, "..", "models", MODEL_FILE),
    path.join(from, "..", "..", "models", MODEL_FILE),
  ];
  return candidates.find((f) => fs.existsSync(f)) ?? candidates[0];
}

function levelOf(score: number, t: RiskModelFile["thresholds"]): RiskLevel {
  return score >= t.high ? "high" : score >= t.elevated ? "elevated" : "low";
}

/** The order's risk: the model's score and level, raised by any rule that applies. */
export function assess(model: RiskModelFile, facts: RiskFacts): Risk {
  const x = featureVector(facts);
  const score = Math.round(probability(model, x) * 100);
  let level = levelOf(score, model.thresholds);
  const reasons: string[] = [];
  for (const rule of RULES)
    if (rule.applies(facts)) {
      reasons.push(rule.reason);
      if (levelRank(rule.level) > levelRank(level)) level = rule.level;
    }
  if (level !== "low")
    contributions(model, x)
      .map((c, i) => [c, REASON_OF[FEATURES[i]]] as const)
      .filter(([c]) => c >= REASON_MIN_LOGIT)
      .sort((a, b) => b[0] - a[0])
      .forEach(([, reason]) => reasons.includes(reason) || reasons.push(reason));
  return { score, level, reasons, model: model.version };
}
