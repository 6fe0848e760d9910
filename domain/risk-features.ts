/**
 * The features of an order's fraud risk, from what the cluster knows when the order is about
 * to be charged: the orders and declined payments of the same account, card and client address
 * in the last hour, the account's age, the amount against the account's earlier orders, the
 * shipping country against the account's earlier ones, and how many cards the account used.
 *
 * No broker: the orders service reads the facts from its own collection (mixins/order-risk.mixin.ts);
 * the training script (scripts/train-risk.ts) draws them from a seeded synthetic set.
 */
import { createHash } from "node:crypto";

export const HOUR_MS = 3_600_000;

/** What is counted for one order, before it is charged. Counts leave the order itself out. */
export interface RiskFacts {
  ordersByUser: number;
  declinesByUser: number;
  ordersByCard: number;
  declinesByCard: number;
  ordersByAddress: number;
  declinesByAddress: number;
  /** Distinct cards the account tried in the last hour, this order's included. */
  cardsOfUser: number;
  /** Days since signup; null when unknown (no account found). */
  accountAgeDays: number | null;
  amount: number;
  /** The account's earlier paid orders' amounts (same currency), newest last. */
  earlierAmounts: number[];
  shippingCountry: string;
  /** Countries the account shipped to before (paid orders). */
  earlierCountries: string[];
}

/** The model's inputs, in this order (the weights file names them, and is checked against them). */
export const FEATURES = [
  "ordersByUser",
  "declinesByUser",
  "ordersByCard",
  "declinesByCard",
  "ordersByAddress",
  "declinesByAddress",
  "cardsOfUser",
  "newAccount",
  "amountVsHistory",
  "firstOrder",
  "newShippingCountry",
] as const;
export type Feature = (typeof FEATURES)[number];

const log1p = (x: number) => Math.log1p(Math.max(0, x));

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * The feature vector, in FEATURES order (each slot is checked by name in test/unit/risk.test.ts):
 * counts on a log scale, so 20 orders is not 20 × 1. Written out as one array because it runs
 * for every order at checkout.
 */
export function featureVector(f: RiskFacts): number[] {
  const first = f.earlierAmounts.length === 0;
  const typical = first ? 0 : median(f.earlierAmounts);
  return [
    log1p(f.ordersByUser),
    log1p(f.declinesByUser),
    log1p(f.ordersByCard),
    log1p(f.declinesByCard),
    log1p(f.ordersByAddress),
    log1p(f.declinesByAddress),
    // cardsOfUser: the cards besides this order's.
    log1p(f.cardsOfUser - 1),
    // newAccount: 1 on signup day, fading to 0 over a month; unknown counts as new.
    f.accountAgeDays === null ? 1 : Math.max(0, 1 - f.accountAgeDays / 30),
    // amountVsHistory: how many times the usual amount, on a log scale; 0 with no history
    // (firstOrder says so).
    first ? 0 : Math.max(0, Math.log2(Math.max(1, f.amount) / Math.max(1, typical))),
    // firstOrder
    first ? 1 : 0,
    // newShippingCountry
    f.earlierCountries.length > 0 && !f.earlierCountries.includes(f.shippingCountry) ? 1 : 0,
  ];
}

/** Fingerprints computed so far: a card's orders come again and again, and each was a SHA-256. */
const fingerprints = new Map<string, string>();
/** Past this many the kept fingerprints are dropped (they are recomputed as needed). */
const FINGERPRINTS_KEPT = 10_000;

function fingerprint(input: string): string {
  let hash = fingerprints.get(input);
  if (hash === undefined) {
    if (fingerprints.size >= FINGERPRINTS_KEPT) fingerprints.clear();
    hash = createHash("sha256").update(input).digest().toString("hex", 0, 12);
    fingerprints.set(input, hash);
  }
  return hash;
}

/**
 * A card's fingerprint: a token is a secret of the payment provider's; the order keeps only a
 * hash of it, enough to count its uses.
 */
export const cardFingerprint = (token: string): string => fingerprint(`card:${token}`);

/** The address a client called from, hashed the same way (it is personal data). */
export const addressFingerprint = (address: string): string => fingerprint(`addr:${address}`);

/** What scoring reads of one of the account's orders. */
export interface AccountOrder {
  _id: string;
  createdAt: string;
  status: string;
  reason?: string;
  riskCard?: string;
  total: number;
  currency: string;
  shippingAddress: { country: string };
}

/** What the account's own orders say of the order being scored. */
export interface AccountFacts {
  /** Since `since`: its orders and declines, those with `card`, its distinct cards (`card` included). */
  orders: number;
  declines: number;
  ordersByCard: number;
  declinesByCard: number;
  cards: number;
  /** Its newest `historyLength` orders of a `paid` status, newest first. */
  paid: AccountOrder[];
}

/**
 * The account's facts in one pass over its orders, given in any order, `exclude` (the order being
 * scored) left out. Each field of each order is read once: an order lies somewhere in a large
 * heap, and the first read of one is a cache miss (bench/RESULTS.md, phase R), so the
 * order scored is told apart by its `createdAt` before its `_id`, and the paid history's times
 * are kept beside it. Walked from the end: a store that appends keeps the newest there, so the
 * paid history fills at once and older orders cost one comparison each.
 */
export function accountFacts(
  orders: readonly AccountOrder[],
  opts: {
    exclude: { _id: string; createdAt: string };
    since: string;
    card: string;
    paid: readonly string[];
    historyLength: number;
  },
): AccountFacts {
  const facts: AccountFacts = {
    orders: 0,
    declines: 0,
    ordersByCard: 0,
    declinesByCard: 0,
    cards: 0,
    paid: [],
  };
  // Distinct cards: an account uses a few, so a list is enough.
  const cards = [opts.card];
  const { paid } = facts;
  const paidAt: string[] = [];
  const { exclude, since, historyLength } = opts;
  for (let i = orders.length - 1; i >= 0; i--) {
    const o = orders[i];
    const { createdAt, status } = o;
    if (createdAt === exclude.createdAt && o._id === exclude._id) continue;
    if (createdAt >= since) {
      facts.orders++;
      // A declined payment; a reservation that ran out says nothing of the card.
      const declined = status === "payment_failed" && o.reason !== "reservation_expired";
      if (declined) facts.declines++;
      const riskCard = o.riskCard;
      if (riskCard === opts.card) {
        facts.ordersByCard++;
        if (declined) facts.declinesByCard++;
      } else if (riskCard && !cards.includes(riskCard)) cards.push(riskCard);
    }
    if (!opts.paid.includes(status)) continue;
    if (paid.length >= historyLength && (!paid.length || createdAt <= paidAt[paidAt.length - 1])) continue;
    let at = paid.length;
    while (at > 0 && paidAt[at - 1] < createdAt) at--;
    paid.splice(at, 0, o);
    paidAt.splice(at, 0, createdAt);
    if (paid.length > historyLength) {
      paid.pop();
      paidAt.pop();
    }
  }
  facts.cards = cards.length;
  return facts;
}

/** Whole days between two instants (account age). */
export function daysBetween(fromIso: string, toMs: number): number {
  return Math.max(0, (toMs - Date.parse(fromIso)) / 86_400_000);
}
