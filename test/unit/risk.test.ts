import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  FEATURES,
  accountFacts,
  addressFingerprint,
  cardFingerprint,
  featureVector,
  type RiskFacts,
} from "../../domain/risk-features";
import { fit, precisionRecall, probability, rocAuc, sigmoid, thresholdForFpr } from "../../domain/logistic";
import {
  CARD_TESTING_DECLINES,
  RiskModelError,
  assess,
  atLeast,
  checkModel,
  defaultModelPath,
  loadModel,
  riskOf,
  storedRisk,
  type RiskModelFile,
} from "../../domain/risk";
import { train } from "../../scripts/train-risk";
import { cardIdentity, countedAddress } from "../../mixins/order-risk.mixin";

const QUIET: RiskFacts = {
  ordersByUser: 0,
  declinesByUser: 0,
  ordersByCard: 0,
  declinesByCard: 0,
  ordersByAddress: 0,
  declinesByAddress: 0,
  cardsOfUser: 1,
  accountAgeDays: 400,
  amount: 5000,
  earlierAmounts: [4000, 5000, 6000],
  shippingCountry: "DE",
  earlierCountries: ["DE"],
};
const at = (f: Partial<RiskFacts>) => featureVector({ ...QUIET, ...f });
const feature = (name: (typeof FEATURES)[number], f: Partial<RiskFacts>) => at(f)[FEATURES.indexOf(name)];

describe("risk features", () => {
  it("should be all zero for an established account's usual order", () => {
    expect(at({})).toEqual(FEATURES.map(() => 0));
  });

  it("should count orders and declines on a log scale", () => {
    expect(feature("ordersByUser", { ordersByUser: 1 })).toBeCloseTo(Math.log(2), 10);
    expect(feature("declinesByAddress", { declinesByAddress: 9 })).toBeCloseTo(Math.log(10), 10);
    expect(feature("cardsOfUser", { cardsOfUser: 3 })).toBeCloseTo(Math.log(3), 10);
  });

  it("should put each count in its own slot, named as FEATURES names it", () => {
    const counts = [
      "ordersByUser",
      "declinesByUser",
      "ordersByCard",
      "declinesByCard",
      "ordersByAddress",
      "declinesByAddress",
    ] as const;
    for (const name of counts) {
      const x = at({ [name]: 3 });
      expect(x[FEATURES.indexOf(name)]).toBeCloseTo(Math.log(4), 10);
      expect(x.filter((v) => v !== 0)).toHaveLength(1);
    }
  });

  it("should measure the amount against the account's median in doublings, and say when there is no history", () => {
    expect(feature("amountVsHistory", { amount: 20000 })).toBeCloseTo(2, 10);
    expect(feature("amountVsHistory", { amount: 100 })).toBe(0);
    expect(feature("amountVsHistory", { earlierAmounts: [] })).toBe(0);
    expect(feature("firstOrder", { earlierAmounts: [] })).toBe(1);
  });

  it("should fade a new account over a month, and treat an unknown age as new", () => {
    expect(feature("newAccount", { accountAgeDays: 0 })).toBe(1);
    expect(feature("newAccount", { accountAgeDays: 15 })).toBe(0.5);
    expect(feature("newAccount", { accountAgeDays: null })).toBe(1);
  });

  it("should flag a shipping country the account never shipped to, not a first order's", () => {
    expect(feature("newShippingCountry", { shippingCountry: "NG" })).toBe(1);
    expect(feature("newShippingCountry", { shippingCountry: "NG", earlierCountries: [] })).toBe(0);
  });

  it("should keep only fingerprints of cards and addresses, different for each", () => {
    expect(cardFingerprint("tok_visa")).toBe(cardFingerprint("tok_visa"));
    expect(cardFingerprint("tok_visa")).not.toContain("tok_visa");
    expect(addressFingerprint("10.0.0.1")).not.toBe(cardFingerprint("10.0.0.1"));
  });

  it("should give the fingerprints orders stored before hold (the first 24 hex digits of a SHA-256)", () => {
    const sha = (s: string) => createHash("sha256").update(s).digest("hex").slice(0, 24);
    expect(cardFingerprint("tok_chargeDeclined")).toBe(sha("card:tok_chargeDeclined"));
    expect(addressFingerprint("203.0.113.7")).toBe(sha("addr:203.0.113.7"));
  });
});

describe("the risk an order stores", () => {
  const risk = { score: 91, level: "high" as const, reasons: ["card_testing", "new_account"], model: 1 };

  it("should keep it as one string and read the same risk back", () => {
    const text = storedRisk(risk);
    expect(typeof text).toBe("string");
    expect(riskOf(text)).toEqual(risk);
  });

  it("should read the object an order stored before", () => {
    expect(riskOf(risk)).toBe(risk);
  });
});

describe("the account's history from its orders", () => {
  const order = (id: string, minute: number, status = "confirmed") => ({
    _id: id,
    createdAt: new Date(Date.UTC(2026, 0, 1, 0, minute)).toISOString(),
    status,
    total: 100 * minute,
    currency: "USD",
    shippingAddress: { country: "US" },
  });
  const since = new Date(Date.UTC(2026, 0, 1, 0, 30)).toISOString();
  const history = (orders: ReturnType<typeof order>[], historyLength = 3) =>
    accountFacts(orders, {
      exclude: { _id: "self", createdAt: order("self", 59).createdAt },
      since,
      card: "card-a",
      paid: ["confirmed", "shipped"],
      historyLength,
    });
  const ids = (os: { _id: string }[]) => os.map((o) => o._id);

  it.each([
    ["oldest first", [1, 10, 20, 31, 40, 50]],
    ["newest first", [50, 40, 31, 20, 10, 1]],
    ["shuffled", [20, 50, 1, 40, 10, 31]],
  ])("should take the last hour and the newest paid orders, newest first, from orders %s", (_, minutes) => {
    const { orders, paid } = history(minutes.map((m) => order(`o${m}`, m)));
    expect(orders).toBe(3);
    expect(ids(paid)).toEqual(["o50", "o40", "o31"]);
  });

  it("should leave out the order being scored, and unpaid orders from the paid history only", () => {
    const { orders, declines, paid } = history([
      order("o5", 5),
      order("f45", 45, "payment_failed"),
      order("self", 59),
      order("o35", 35, "shipped"),
    ]);
    expect([orders, declines]).toEqual([2, 1]);
    expect(ids(paid)).toEqual(["o35", "o5"]);
  });

  it("should keep a paid history shorter than asked when there is less, and none when asked for none", () => {
    expect(ids(history([order("a", 1), order("b", 2)]).paid)).toEqual(["b", "a"]);
    expect(history([order("a", 1)], 0).paid).toEqual([]);
  });
});

describe("the account's last-hour counts", () => {
  const o = (status: string, riskCard?: string, reason?: string) => ({
    _id: "x",
    createdAt: "2026-01-01T00:00:00.000Z",
    status,
    ...(reason ? { reason } : {}),
    ...(riskCard ? { riskCard } : {}),
    total: 100,
    currency: "USD",
    shippingAddress: { country: "US" },
  });

  const counted = (orders: ReturnType<typeof o>[], card: string) => {
    // The order scored has the others' createdAt here: it is told apart by its _id.
    const { paid, ...counts } = accountFacts(orders, {
      exclude: { _id: "self", createdAt: "2026-01-01T00:00:00.000Z" },
      since: "2026-01-01T00:00:00.000Z",
      card,
      paid: [],
      historyLength: 0,
    });
    expect(paid).toEqual([]);
    return counts;
  };

  it("should count the account's orders and declines, those of the card, and the distinct cards", () => {
    const counts = counted(
      [
        o("confirmed", "card-a"),
        o("payment_failed", "card-a"),
        o("payment_failed", "card-b"),
        // A reservation that ran out is not a declined card.
        o("payment_failed", "card-a", "reservation_expired"),
        o("confirmed", "card-c"),
        // Stored before cards were kept: an order, but no card.
        o("confirmed"),
      ],
      "card-a",
    );
    expect(counts).toEqual({ orders: 6, declines: 2, ordersByCard: 3, declinesByCard: 1, cards: 3 });
  });

  it("should leave out the order scored, and count the others sharing its createdAt", () => {
    const self = { ...o("payment_failed", "card-b"), _id: "self" };
    expect(counted([self, o("confirmed", "card-a")], "card-a")).toEqual({
      orders: 1,
      declines: 0,
      ordersByCard: 1,
      declinesByCard: 0,
      cards: 1,
    });
  });

  it("should count the order's own card among the cards when the account has no orders", () => {
    expect(counted([], "card-a")).toEqual({
      orders: 0,
      declines: 0,
      ordersByCard: 0,
      declinesByCard: 0,
      cards: 1,
    });
  });
});

describe("logistic regression", () => {
  it("should learn a separable rule and rank with it", () => {
    const xs = Array.from({ length: 200 }, (_, i) => [i % 2, (i * 7) % 5]);
    const ys = xs.map(([a]) => a);
    const m = fit(xs, ys, { epochs: 300 });
    expect(probability(m, [1, 2])).toBeGreaterThan(0.9);
    expect(probability(m, [0, 2])).toBeLessThan(0.1);
  });

  it("should compute ROC AUC with ties counted half", () => {
    expect(rocAuc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])).toBeCloseTo(0.75, 10);
    expect(rocAuc([1, 1], [0, 1])).toBe(0.5);
  });

  it("should give precision and recall at a threshold, and the lowest threshold within a false-positive rate", () => {
    const scores = [10, 20, 30, 40, 50, 60];
    const labels = [0, 0, 1, 0, 1, 1];
    expect(precisionRecall(scores, labels, 30)).toEqual({
      precision: 3 / 4,
      recall: 1,
      falsePositiveRate: 1 / 3,
    });
    expect(thresholdForFpr(scores, labels, 0, [10, 20, 30, 40, 50, 60])).toBe(50);
    expect(sigmoid(0)).toBe(0.5);
  });
});

describe("the risk model file and scoring", () => {
  const model = loadModel(defaultModelPath(path.join(__dirname, "..", "..", "domain")));

  it("should load the committed weights, checked against the features", () => {
    expect(model.version).toBe(1);
    expect(model.features).toEqual([...FEATURES]);
    expect(model.thresholds.elevated).toBeLessThanOrEqual(model.thresholds.high);
  });

  it("should say how it was trained, and training from a seed should give the same weights every time", () => {
    expect(model.training.command).toBe("npm run train:risk -- --seed 21 --orders 20000");
    const once = train(5, 2000).file;
    expect(train(5, 2000).file).toEqual(once);
    expect(once.features).toEqual(model.features);
  });

  it.each([
    ["not JSON", "{", /not JSON/],
    [
      "features in another order",
      JSON.stringify({ ...model, features: [...FEATURES].reverse() }),
      /features/,
    ],
    ["a missing weight", JSON.stringify({ ...model, weights: model.weights.slice(1) }), /weights/],
    ["a zero scale", JSON.stringify({ ...model, scales: model.scales.map(() => 0) }), /scales/],
    [
      "thresholds upside down",
      JSON.stringify({ ...model, thresholds: { elevated: 80, high: 20 } }),
      /thresholds/,
    ],
  ])("should refuse a weights file with %s, saying what is wrong", (_what, text, message) => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "risk-")), "m.json");
    fs.writeFileSync(file, text);
    expect(() => loadModel(file)).toThrow(RiskModelError);
    expect(() => loadModel(file)).toThrow(message);
  });

  it("should refuse a missing file by its name", () => {
    expect(() => loadModel("/nonexistent/risk.json")).toThrow(/cannot read \/nonexistent\/risk.json/);
  });

  it("should score an established account's usual order low, with no reasons", () => {
    expect(assess(model, QUIET)).toMatchObject({ level: "low", reasons: [] });
    expect(assess(model, QUIET).score).toBeLessThan(model.thresholds.elevated);
  });

  it("should score an account takeover (large amount, new country) high and say why", () => {
    const risk = assess(model, { ...QUIET, amount: 60000, shippingCountry: "NG" });
    expect(risk.level).toBe("high");
    expect(risk.reasons).toEqual(expect.arrayContaining(["amount_unusual", "new_shipping_country"]));
  });

  it.each([
    ["the account", { declinesByUser: CARD_TESTING_DECLINES }],
    ["the client address", { declinesByAddress: CARD_TESTING_DECLINES }],
  ])("should make the order high after 5 declines of %s, whatever the model says", (_of, facts) => {
    const trusting: RiskModelFile = { ...model, weights: model.weights.map(() => 0), bias: -20 };
    const risk = assess(trusting, { ...QUIET, ...facts });
    expect(risk.score).toBe(0);
    expect(risk).toMatchObject({ level: "high", reasons: ["card_testing"] });
    expect(assess(trusting, { ...QUIET, declinesByUser: CARD_TESTING_DECLINES - 1 }).level).toBe("low");
  });

  it("should make an account with 4 cards in the hour at least elevated", () => {
    const trusting: RiskModelFile = { ...model, weights: model.weights.map(() => 0), bias: -20 };
    expect(assess(trusting, { ...QUIET, cardsOfUser: 4 })).toMatchObject({
      level: "elevated",
      reasons: ["many_cards"],
    });
  });

  it("should order levels for holding", () => {
    expect(atLeast("high", "elevated")).toBe(true);
    expect(atLeast("elevated", "high")).toBe(false);
    expect(checkModel(model)).toBe(model);
  });
});

describe("what the orders service counts a card and an address by", () => {
  it("should count the simulated provider's shared test tokens per account, any other token as one card", () => {
    expect(cardIdentity("tok_visa", "u1")).not.toBe(cardIdentity("tok_visa", "u2"));
    expect(cardIdentity("pm_123", "u1")).toBe(cardIdentity("pm_123", "u2"));
  });

  it.each([
    ["127.0.0.1", undefined],
    ["127.8.0.3", undefined],
    ["::1", undefined],
    ["unknown", undefined],
    [undefined, undefined],
    ["203.0.113.9", "203.0.113.9"],
    ["2001:db8::1", "2001:db8::1"],
  ])("should count client address %s as %s", (address, counted) => {
    expect(countedAddress(address)).toBe(counted);
  });
});
