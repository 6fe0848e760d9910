/**
 * Order risk for the orders service (API.md "Recommendations and order risk"): the facts the risk
 * step scores (read from this service's own orders: the last hour's orders and declines of the
 * account, the card and the client address, the account's earlier paid orders; the account's
 * age from the buyer's token, else from users), the model loaded at start, and the admin view
 * that shows the risk. Held orders' review and expiry: mixins/order-holds.mixin.ts.
 *
 * What must stay true:
 * - every order is scored before its charge, held or not (RISK_HOLD_LEVEL only decides holding);
 * - the risk is in admin answers only: `orderView` (customers, exports, events) never carries it.
 */
import type { Context, ServiceSchema } from "moleculer";
import type { Meta, Order, OrderStatus } from "../contracts";
import { config } from "../lib/config";
import { call } from "../lib/typed";
import { orderView, type OrderDoc } from "../domain/checkout";
import { CARD_TOKENS } from "../domain/payments";
import {
  assess,
  atLeast,
  defaultModelPath,
  loadModel,
  riskOf,
  storedRisk,
  type RiskLevel,
  type RiskModelFile,
} from "../domain/risk";
import {
  HOUR_MS,
  accountFacts,
  addressFingerprint,
  cardFingerprint,
  daysBetween,
  type AccountOrder,
  type RiskFacts,
} from "../domain/risk-features";
import type { DbIndexSettings } from "./db.mixin";
import type { Via } from "./checkout-steps";
import type { RiskOutcome } from "./risk-step";

/** Paid orders, whose amounts and countries are the account's history. */
const PAID: OrderStatus[] = ["confirmed", "shipped", "delivered"];
/**
 * Earlier paid orders the amount and country history is taken from: the model learned on
 * histories of up to 12 (scripts/train-risk.ts).
 */
const HISTORY = 12;
/**
 * The account's latest orders read per scoring: its last hour and its paid history. Twice the
 * largest burst the model learned on (12 orders an hour). Past it a count moves the score little
 * (an established account's 24 orders in the hour score 9, 50 score 13), and each order read is
 * at least one cache miss on a shop's large heap (bench/RESULTS.md, phase R).
 */
const LATEST = 24;
/** What scoring reads of those orders. */
const LATEST_FIELDS = [
  "_id",
  "createdAt",
  "status",
  "reason",
  "riskCard",
  "total",
  "currency",
  "shippingAddress.country",
];
/** Signup times of accounts (they never change), kept by each node; cleared when this full. */
const ACCOUNTS_KEPT = 10_000;

export interface RiskVars {
  riskModel: RiskModelFile;
  riskHoldLevel?: RiskLevel;
  reservationTtlMs: number;
  accountCreatedAts: Map<string, string>;
}

export interface RiskMethods {
  scoreRisk(via: Via, d: OrderDoc): Promise<RiskOutcome>;
  /** `card` and `address` are fingerprints; `shared`: other accounts may hold the card too. */
  riskFacts(
    via: Via,
    d: OrderDoc,
    seen: { card: string; shared: boolean; address?: string },
  ): Promise<RiskFacts>;
  /** The last hour's orders and declines of a card other accounts may hold, and of a client address. */
  sharedCounts(
    d: OrderDoc,
    since: string,
    of: { card?: string; address?: string },
  ): Promise<[number, number, number, number]>;
  /** When the account signed up (ISO), asked of users once per account and node; null if unknown. */
  accountCreatedAt(via: Via, userId: string): Promise<string | null>;
  /** The order as `user` may see it: with its risk for an admin. */
  viewFor(user: Meta["user"], d: OrderDoc): Order;
}

/**
 * The simulated provider's test tokens are shared by every customer: as a card they say nothing
 * of one card, so they are counted per account. Any other token is one card.
 */
export function cardIdentity(token: string, userId: string): string {
  return (CARD_TOKENS as readonly string[]).includes(token) ? `${userId}\u0000${token}` : token;
}

/**
 * A loopback address is this host's own proxy or a local client, not one client: counting all
 * orders from it together would make every one look like a burst. Only other addresses count.
 */
export function countedAddress(address: string | undefined): string | undefined {
  if (!address || address === "unknown") return undefined;
  if (address === "::1" || address.startsWith("127.")) return undefined;
  return address;
}

/**
 * When the account signed up, from the buyer's access token; undefined when the token predates
 * the claim or a recovery drives the saga (users is asked then).
 */
function tokenSignedUpAt(via: Via, userId: string): string | undefined {
  const caller = (via as Context<unknown, Meta>).meta?.user;
  return caller?.id === userId ? caller.signedUpAt : undefined;
}

const guestEmail = (d: OrderDoc) => (d as OrderDoc & { email?: string }).email ?? null;
/** Whose orders count together: the user, or for a guest its email. */
const accountOf = (d: OrderDoc) => d.userId ?? `guest:${guestEmail(d) ?? d._id}`;

export const OrderRiskMixin: ServiceSchema = {
  name: "",
  settings: {
    dbIndexes: {
      // Only a card other accounts may use too is looked up (riskCard, on every order, is not).
      riskCardShared: { fields: { riskCardShared: 1, createdAt: -1 }, sparse: true },
      riskAddress: { fields: { riskAddress: 1, createdAt: -1 }, sparse: true },
      // A guest's orders, read by its email (user orders are read by userId).
      guestEmail: { fields: { email: 1, createdAt: -1 }, sparse: true },
    },
    // Per account, riskCard's buckets grew with each account's orders, every write scanning one.
    dbRetiredIndexes: [{ fields: { riskCard: 1, createdAt: -1 } }],
  } as DbIndexSettings,

  methods: {
    async scoreRisk(this: any, via: Via, d: OrderDoc): Promise<RiskOutcome> {
      const identity = cardIdentity(d.paymentToken, accountOf(d));
      // A card other accounts may hold too; the simulated provider's test tokens count per account.
      const shared = identity === d.paymentToken;
      const card = cardFingerprint(identity);
      const meta = (via as Context<unknown, Meta>).meta;
      const counted = countedAddress(meta?.clientAddress);
      const address = counted === undefined ? undefined : addressFingerprint(counted);
      const risk = assess(this.riskModel, await this.riskFacts(via, d, { card, shared, address }));
      const hold = this.riskHoldLevel !== undefined && atLeast(risk.level, this.riskHoldLevel);
      const set: Partial<OrderDoc> = { risk: storedRisk(risk), riskCard: card };
      if (shared) set.riskCardShared = card;
      if (address) set.riskAddress = address;
      if (hold) set.heldUntil = Date.now() + this.reservationTtlMs;
      return { risk, hold, set };
    },

    async riskFacts(
      this: any,
      via: Via,
      d: OrderDoc,
      { card, shared, address }: { card: string; shared: boolean; address?: string },
    ) {
      const since = new Date(Date.now() - HOUR_MS).toISOString();
      // A guest's "account" is its email.
      const [field, value, where] = d.userId
        ? ["userId", d.userId, { kind: "order" }]
        : ["email", guestEmail(d), { kind: "order", userId: null }];
      const read = { where, fields: LATEST_FIELDS, limit: LATEST };
      // One read of the account's latest orders serves its last hour and its paid history. The
      // buyer's token usually says the account's age; else users is asked during the read.
      const signedUp = d.userId ? tokenSignedUpAt(via, d.userId) : null;
      const [latest, createdAt]: [AccountOrder[], string | null] =
        signedUp !== undefined
          ? [await this.latestOf(field, value, read), signedUp]
          : await Promise.all([this.latestOf(field, value, read), this.accountCreatedAt(via, d.userId!)]);
      const own = accountFacts(latest, {
        exclude: d,
        since,
        card,
        paid: PAID,
        historyLength: HISTORY,
      });
      const [cardOrders, cardDeclines, ordersByAddress, declinesByAddress] =
        shared || address
          ? await this.sharedCounts(d, since, { card: shared ? card : undefined, address })
          : [0, 0, 0, 0];
      const earlierAmounts: number[] = [];
      const earlierCountries: string[] = [];
      for (const o of own.paid) {
        if (o.currency === d.currency) earlierAmounts.push(o.total);
        const country = o.shippingAddress.country;
        if (!earlierCountries.includes(country)) earlierCountries.push(country);
      }
      return {
        ordersByUser: own.orders,
        declinesByUser: own.declines,
        // A card counted per account (not shared) has no orders but the account's own.
        ordersByCard: shared ? cardOrders : own.ordersByCard,
        declinesByCard: shared ? cardDeclines : own.declinesByCard,
        ordersByAddress,
        declinesByAddress,
        cardsOfUser: own.cards,
        accountAgeDays: createdAt ? daysBetween(createdAt, Date.now()) : null,
        amount: d.total,
        earlierAmounts,
        shippingCountry: d.shippingAddress.country,
        earlierCountries,
      } satisfies RiskFacts;
    },

    async sharedCounts(
      this: any,
      d: OrderDoc,
      since: string,
      { card, address }: { card?: string; address?: string },
    ): Promise<[number, number, number, number]> {
      const recent = { createdAt: { $gte: since }, kind: "order", _id: { $ne: d._id } };
      const declined = { status: "payment_failed", reason: { $ne: "reservation_expired" } };
      const count = (query: object): Promise<number> => this.countDocs({ ...recent, ...query });
      return Promise.all([
        card ? count({ riskCardShared: card }) : 0,
        card ? count({ riskCardShared: card, ...declined }) : 0,
        address ? count({ riskAddress: address }) : 0,
        address ? count({ riskAddress: address, ...declined }) : 0,
      ]);
    },

    async accountCreatedAt(this: any, via: Via, userId: string): Promise<string | null> {
      const known: Map<string, string> = this.accountCreatedAts;
      const kept = known.get(userId);
      if (kept) return kept;
      const user = await call(via, "users.contact", { id: userId }).catch(() => null);
      if (!user?.createdAt) return null;
      if (known.size >= ACCOUNTS_KEPT) known.clear();
      known.set(userId, user.createdAt);
      return user.createdAt;
    },

    viewFor(user: Meta["user"], d: OrderDoc): Order {
      const view = orderView(d);
      if (user?.role !== "admin" || !d.risk) return view;
      const { score, level, reasons } = riskOf(d.risk);
      return { ...view, risk: { score, level, reasons } };
    },
  },

  created(this: any) {
    const cfg = config();
    // A missing or malformed weights file stops the start, naming the file.
    this.riskModel = loadModel(cfg.risk.modelFile ?? defaultModelPath());
    this.riskHoldLevel = cfg.risk.holdLevel;
    this.reservationTtlMs = cfg.reservationTtlSeconds * 1000;
    this.accountCreatedAts = new Map();
  },
};
