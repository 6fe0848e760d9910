import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Errors, ServiceBroker, type ServiceSchema } from "moleculer";
import type { OrderStatus, ReservationState } from "../../contracts";
import { MoneyError, commonCurrency, lineTotal, sum } from "../../domain/money";
import {
  MAX_LINES,
  addLine,
  cartView,
  emptyCart,
  REMEMBERED_ORDERS,
  refreshLines,
  rememberOrder,
  removeLine,
  removeOrdered,
  resolveVariant,
  setQuantity,
  type CartLine,
  type CatalogVariant,
} from "../../domain/cart";
import { TRANSITIONS, canTransition, resumedCharge, transition } from "../../domain/order-state";
import {
  KEY_TTL_MS,
  bodyHash,
  canonicalJson,
  decide,
  isValidKey,
  keyRecordId,
  newKeyRecord,
} from "../../domain/idempotency";
import { PAYMENT_TRANSITIONS, SimulatedProvider, WEBHOOK_EFFECTS } from "../../domain/payments";
import { mergeResolved, newOrder, outcome, priceLines, shortProducts } from "../../domain/checkout";
import { RuleError, invalidField } from "../../domain/rule-error";
import { lookupOf, simpleProduct, variantFrom } from "../support/catalogue";
import { ConfigError, loadConfig, reloadConfig } from "../../lib/config";
import { brokerOptions } from "../../moleculer.config";
import { FaultMiddleware } from "../support/fault-middleware";
import { waitFor } from "../support/cluster";
import { ADDRESS, VISA, sleep } from "../support/fixtures";

const lampProduct = simpleProduct("p1", "Lamp", 1999);
const lamp = variantFrom(lampProduct);
const desk = variantFrom(simpleProduct("p2", "Desk", 25000));
/** The line a simple product's variant makes (its id is the product's). */
const lineOf = (v: CatalogVariant, quantity: number, unitPrice = v.price) => ({
  productId: v.productId,
  variantId: v.variantId,
  sku: v.sku,
  name: v.name,
  variantTitle: v.variantTitle,
  unitPrice,
  currency: v.currency,
  quantity,
});
const ruleOf = (fn: () => unknown): RuleError => {
  try {
    fn();
  } catch (err) {
    if (err instanceof RuleError) return err;
    throw err;
  }
  throw new Error("expected a RuleError");
};

describe("money in integer minor units", () => {
  it("should multiply and add exactly, refusing anything that is not a safe integer", () => {
    expect(lineTotal(1999, 3)).toBe(5997);
    expect(sum([5997, 25000, 0])).toBe(30997);
    expect(() => lineTotal(19.99, 1)).toThrow(MoneyError);
    expect(() => lineTotal(Number.MAX_SAFE_INTEGER, 2)).toThrow(MoneyError);
    expect(() => sum([Number.MAX_SAFE_INTEGER, 1])).toThrow(MoneyError);
    expect(() => sum([-1])).toThrow(MoneyError);
  });

  it("should find one currency or none", () => {
    expect(commonCurrency(["EUR", "EUR"])).toBe("EUR");
    expect(commonCurrency(["EUR", "USD"])).toBeNull();
    expect(commonCurrency([])).toBeNull();
  });
});

describe("cart rules", () => {
  it("should add to an existing line and keep the latest name and price", () => {
    let items: CartLine[] = addLine([], lamp, 2);
    items = addLine(items, { ...lamp, price: 1799 }, 3);
    expect(items).toEqual([lineOf(lamp, 5, 1799)]);
  });

  it("should refuse more than 100 units on a line and more than 50 lines, with 422", () => {
    const full = addLine([], lamp, 100);
    expect(ruleOf(() => addLine(full, lamp, 1))).toMatchObject({ status: 422 });
    let items: CartLine[] = [];
    for (let i = 0; i < MAX_LINES; i++)
      items = addLine(items, { ...lamp, productId: `p${i}`, variantId: `p${i}` }, 1);
    const err = ruleOf(() => addLine(items, { ...lamp, productId: "one-more", variantId: "one-more" }, 1));
    expect(err.status).toBe(422);
    expect(err.data).toEqual([expect.objectContaining({ field: "productId" })]);
  });

  it("should refuse a product in another currency than the cart's", () => {
    const items = addLine([], lamp, 1);
    expect(ruleOf(() => addLine(items, { ...desk, currency: "EUR" }, 1)).status).toBe(422);
  });

  it("should set, remove with quantity 0, and answer 404 for a product not in the cart", () => {
    const items = addLine(addLine([], lamp, 1), desk, 1);
    expect(setQuantity(items, "p1", 7)[0].quantity).toBe(7);
    expect(setQuantity(items, "p1", 0).map((l) => l.productId)).toEqual(["p2"]);
    expect(removeLine(items, "p2").map((l) => l.productId)).toEqual(["p1"]);
    expect(ruleOf(() => setQuantity(items, "nope", 1))).toMatchObject({ status: 404, type: "NOT_IN_CART" });
    expect(ruleOf(() => removeLine(items, "nope")).status).toBe(404);
  });

  it("should take over a changed price and drop a deleted product when refreshed", () => {
    const items = addLine(addLine([], lamp, 2), desk, 1);
    const repriced = simpleProduct("p1", "Lamp", 2499);
    const catalogue = new Map([
      ["p1", repriced],
      ["p2", null],
    ]);
    const { items: fresh, changed } = refreshLines(items, catalogue);
    expect(changed).toBe(true);
    expect(fresh).toEqual([lineOf(lamp, 2, 2499)]);
    expect(refreshLines(fresh, new Map([["p1", repriced]])).changed).toBe(false);
  });

  it("should take only an order's quantities out of the cart, keeping lines added since", () => {
    const items = addLine(addLine([], lamp, 3), desk, 1);
    const after = removeOrdered(items, [
      { productId: "p1", quantity: 2 },
      { productId: "p2", quantity: 1 },
      { productId: "gone", quantity: 4 },
    ]);
    expect(after).toEqual([lineOf(lamp, 1)]);
  });

  it("should remember the latest order ids a cart gave lines to, at most REMEMBERED_ORDERS", () => {
    let remembered = rememberOrder(undefined, "o0");
    for (let i = 1; i <= REMEMBERED_ORDERS; i++) remembered = rememberOrder(remembered, `o${i}`);
    expect(remembered).toHaveLength(REMEMBERED_ORDERS);
    expect(remembered).not.toContain("o0");
    expect(remembered.at(-1)).toBe(`o${REMEMBERED_ORDERS}`);
  });

  it("should answer line totals, the subtotal and the currency", () => {
    const doc = {
      ...emptyCart("u1", "2026-01-01T00:00:00.000Z"),
      items: addLine(addLine([], lamp, 2), desk, 1),
    };
    const shown = { sku: expect.any(String), variantTitle: "Default", unavailable: false };
    expect(cartView(doc)).toEqual({
      items: [
        {
          productId: "p1",
          variantId: "p1",
          name: "Lamp",
          unitPrice: 1999,
          quantity: 2,
          lineTotal: 3998,
          ...shown,
        },
        {
          productId: "p2",
          variantId: "p2",
          name: "Desk",
          unitPrice: 25000,
          quantity: 1,
          lineTotal: 25000,
          ...shown,
        },
      ],
      subtotal: 28998,
      currency: "USD",
      updatedAt: "2026-01-01T00:00:00.000Z",
    });
    expect(cartView(emptyCart("u1", "t")).currency).toBe("USD");
  });
});

describe("the order state machine", () => {
  const all: OrderStatus[] = [
    "pending",
    "confirmed",
    "shipped",
    "delivered",
    "payment_failed",
    "cancelled",
    "requires_action",
    "on_hold",
  ];
  const allowed = new Set([
    "pending>confirmed",
    "pending>payment_failed",
    // API.md "Payments with a real provider": pending -> requires_action -> confirmed | payment_failed
    "pending>requires_action",
    "requires_action>confirmed",
    "requires_action>payment_failed",
    "confirmed>shipped",
    "confirmed>cancelled",
    "shipped>delivered",
    // API.md "order risk": held for review, then approved (charged: confirmed or declined) or cancelled.
    "pending>on_hold",
    "on_hold>confirmed",
    "on_hold>cancelled",
    "on_hold>payment_failed",
  ]);

  it("should allow exactly the transitions of API.md and refuse every other with 409", () => {
    for (const from of all)
      for (const to of all) {
        const ok = allowed.has(`${from}>${to}`);
        expect(canTransition(from, to)).toBe(ok);
        if (!ok)
          expect(ruleOf(() => transition({ status: from, history: [] }, to, "t"))).toMatchObject({
            status: 409,
            type: "ILLEGAL_TRANSITION",
            data: { from, to },
          });
      }
    expect(Object.keys(TRANSITIONS).sort()).toEqual([...all].sort());
  });

  it("should append each move to the history without changing the one it was given", () => {
    const history = [{ status: "pending" as const, at: "t0" }];
    const next = transition({ status: "pending", history }, "confirmed", "t1");
    expect(next).toEqual({
      status: "confirmed",
      history: [
        { status: "pending", at: "t0" },
        { status: "confirmed", at: "t1" },
      ],
    });
    expect(history).toHaveLength(1);
  });
});

describe("a driver resuming an order at the charge step", () => {
  const cases: Array<[ReservationState | null, ReturnType<typeof resumedCharge>]> = [
    ["reserved", "charge"],
    ["committed", "charge"],
    ["pending", "wait"],
    ["failed", "refund"],
    ["released", "refund"],
    ["expired", "refund"],
    [null, "refund"],
  ];
  it.each(cases)("should, for a reservation %s, %s", (state, next) => {
    expect(resumedCharge(state)).toBe(next);
  });
});

describe("idempotency keys", () => {
  it("should hash equal bodies equally whatever their key order, and different bodies differently", () => {
    const a = { payment: { token: "tok_visa", method: "card" }, items: [{ productId: "p", quantity: 1 }] };
    const b = { items: [{ quantity: 1, productId: "p" }], payment: { method: "card", token: "tok_visa" } };
    expect(canonicalJson(a)).toBe(canonicalJson(b));
    expect(bodyHash(a)).toBe(bodyHash(b));
    expect(bodyHash({ ...a, items: [{ productId: "p", quantity: 2 }] })).not.toBe(bodyHash(a));
  });

  it("should scope a key to its user and accept 1 to 255 characters", () => {
    expect(keyRecordId("u1", "k")).not.toBe(keyRecordId("u2", "k"));
    expect(keyRecordId("u1", "k")).toBe(keyRecordId("u1", "k"));
    expect(keyRecordId("u1", "a\0b")).not.toBe(keyRecordId("u1\0a", "b"));
    expect(isValidKey("x".repeat(255))).toBe(true);
    expect(isValidKey("x".repeat(256))).toBe(false);
    expect(isValidKey("")).toBe(false);
  });

  it("should replay a finished request, wait for a running one, refuse another body, and free the key after 24 h", () => {
    const rec = newKeyRecord("id", "u1", "h1", "o1", 1000, 30_000);
    expect(decide(rec, "h1", 2000)).toBe("wait");
    expect(decide({ ...rec, state: "done" }, "h1", 2000)).toBe("replay");
    expect(decide(rec, "h2", 2000)).toBe("mismatch");
    expect(decide(rec, "h2", 1000 + KEY_TTL_MS)).toBe("expired");
    expect(decide(rec, "h1", 1000 + KEY_TTL_MS - 1)).toBe("wait");
  });
});

describe("payments", () => {
  it("should approve tok_visa, decline tok_chargeDeclined, and answer a repeated charge the same", async () => {
    const p = new SimulatedProvider();
    const req = { idempotencyKey: "pay_1", amount: 100, currency: "USD" };
    const ok = await p.charge({ ...req, token: "tok_visa" });
    expect(ok.status).toBe("succeeded");
    expect(await p.charge({ ...req, token: "tok_visa" })).toEqual(ok);
    expect(await p.charge({ ...req, idempotencyKey: "pay_2", token: "tok_chargeDeclined" })).toMatchObject({
      status: "failed",
      reason: "card_declined",
    });
  });

  it("should let webhooks only move a payment along its state machine", () => {
    for (const { from, to } of Object.values(WEBHOOK_EFFECTS))
      expect(PAYMENT_TRANSITIONS[from]).toContain(to);
    expect(PAYMENT_TRANSITIONS.refunded).toEqual([]);
  });
});

describe("checkout rules", () => {
  it("should price lines from the catalogue, merging repeated products", () => {
    const resolved = mergeResolved([
      { variant: lamp, quantity: 1 },
      { variant: desk, quantity: 2 },
      { variant: lamp, quantity: 2 },
    ]);
    const shown = { sku: expect.any(String), variantTitle: "Default" };
    expect(priceLines(resolved, "items")).toEqual({
      items: [
        {
          productId: "p1",
          variantId: "p1",
          name: "Lamp",
          unitPrice: 1999,
          quantity: 3,
          lineTotal: 5997,
          ...shown,
        },
        {
          productId: "p2",
          variantId: "p2",
          name: "Desk",
          unitPrice: 25000,
          quantity: 2,
          lineTotal: 50000,
          ...shown,
        },
      ],
      subtotal: 55997,
      currency: "USD",
    });
  });

  it("should refuse an unknown product or mixed currencies with 422 naming the field", async () => {
    const missing = (field: string, id: string) => invalidField(`items[1].${field}`, "notFound", id);
    const err = await resolveVariant(
      { productId: "b", quantity: 1 } as any,
      lookupOf(lampProduct),
      "items[1].",
      missing,
    ).catch((e) => e);
    expect(err.data).toEqual([expect.objectContaining({ field: "items[1].productId" })]);
    const lines = [
      { variant: lamp, quantity: 1 },
      { variant: { ...desk, currency: "EUR" }, quantity: 1 },
    ];
    expect(ruleOf(() => priceLines(lines, "cart")).status).toBe(422);
  });

  it("should name every short product: the one refused and any other below its quantity", () => {
    const lines = [
      { productId: "a", quantity: 2 },
      { productId: "b", quantity: 5 },
      { productId: "c", quantity: 1 },
    ];
    const levels = [
      { productId: "a", available: 1, reserved: 0 },
      { productId: "b", available: 3, reserved: 0 },
      { productId: "c", available: 9, reserved: 0 },
    ];
    expect(shortProducts(lines, "a", levels)).toEqual(["a", "b"]);
    expect(shortProducts(lines, "c", [])).toEqual(["a", "b", "c"]);
  });

  it("should answer 201 for a placed order, 402 with the order for a declined one, 409 for a refused one", () => {
    const priced = priceLines([{ variant: lamp, quantity: 1 }], "items");
    const address = { name: "A", line1: "1 St", city: "C", postalCode: "1", country: "US" };
    const d = newOrder({
      id: "o1",
      userId: "u1",
      priced,
      token: "tok_visa",
      shippingAddress: address,
      fromCart: false,
      nowMs: 0,
      leaseMs: 1000,
      leaseOwner: "driver-1",
    });
    expect(d).toMatchObject({
      status: "pending",
      step: "reserve",
      total: 1999,
      history: [{ status: "pending" }],
      leaseUntil: 1000,
      leaseOwner: "driver-1",
    });
    expect(outcome({ ...d, status: "confirmed" })).toMatchObject({ status: 201, body: { id: "o1" } });
    expect(outcome({ ...d, status: "payment_failed" })).toMatchObject({
      status: 402,
      error: { type: "PAYMENT_DECLINED", data: { order: { id: "o1", status: "payment_failed" } } },
    });
    const failure = {
      status: 409 as const,
      type: "INSUFFICIENT_STOCK",
      message: "m",
      data: { productIds: ["a"] },
    };
    expect(outcome({ ...d, hidden: true, failure })).toEqual({
      status: 409,
      error: { message: "m", type: "INSUFFICIENT_STOCK", data: { productIds: ["a"] } },
    });
    expect(JSON.stringify(outcome({ ...d, status: "confirmed" }))).not.toContain("tok_visa");
  });
});

describe("checkout settings", () => {
  const keys = {
    JWT_PRIVATE_KEY: "-----BEGIN PRIVATE KEY-----x",
    JWT_PUBLIC_KEY: "-----BEGIN PUBLIC KEY-----x",
  };

  it("should default the lease to 30 s and leave the webhook secret unset (generated into DATA_DIR) outside production", () => {
    const c = loadConfig({});
    expect(c.checkout).toEqual({
      leaseSeconds: 30,
      paymentWebhookSecret: undefined,
    });
    expect(loadConfig({ CHECKOUT_LEASE_SECONDS: "5" }).checkout.leaseSeconds).toBe(5);
  });

  it("should refuse a short webhook secret, and require one in production", () => {
    expect(() => loadConfig({ PAYMENT_WEBHOOK_SECRET: "short" })).toThrow(/PAYMENT_WEBHOOK_SECRET/);
    expect(() => loadConfig({ NODE_ENV: "production", ...keys })).toThrow(/PAYMENT_WEBHOOK_SECRET/);
    const secret = "a-production-webhook-secret";
    const prod = loadConfig({ NODE_ENV: "production", ...keys, PAYMENT_WEBHOOK_SECRET: secret });
    expect(prod.checkout.paymentWebhookSecret).toBe(secret);
    expect(() => loadConfig({ CHECKOUT_LEASE_SECONDS: "0" })).toThrow(ConfigError);
  });

  it("should accept the crash fault hook only with NODE_ENV=test", () => {
    const env = { FAULT_CRASH_AFTER: "inventory.reserve" };
    expect(loadConfig({ NODE_ENV: "test", ...env }).faultCrashAfter).toBe("inventory.reserve");
    expect(loadConfig({}).faultCrashAfter).toBeUndefined();
    expect(() => loadConfig(env)).toThrow(/FAULT_CRASH_AFTER/);
  });
});

describe("the fault middleware (test-only)", () => {
  let broker: ServiceBroker;
  const killed: string[] = [];

  beforeAll(async () => {
    broker = new ServiceBroker({
      logger: false,
      middlewares: [FaultMiddleware("inventory.reserve", () => killed.push("inventory.reserve"))],
    });
    broker.createService({
      name: "inventory",
      actions: { reserve: () => ({ state: "reserved" }), get: () => ({ available: 1 }) },
    });
    await broker.start();
  });
  afterAll(() => broker.stop());

  it("should kill the node once a call it made to the named action has returned, and not before", async () => {
    await broker.call("inventory.get");
    expect(killed).toEqual([]);
    expect(await broker.call("inventory.reserve")).toEqual({ state: "reserved" });
    expect(killed).toEqual(["inventory.reserve"]);
  });
});

interface Deferred {
  orderId: string;
  release(): void;
  fail(err: Error): void;
}

/**
 * The orders service on NeDB with fake inventory, payments, products and carts, so a test can
 * hold a driver inside a step (`holdReserves`) while a second driver takes the order over.
 */
describe("the checkout saga with two drivers on one order", () => {
  let broker: ServiceBroker;
  let orders: any;
  const reservations = new Map<string, ReservationState>();
  const charges: string[] = [];
  const refunds: string[] = [];
  const held: Deferred[] = [];
  /** Every attempt of a driver to move an order on: the step it read, and whether it moved. */
  const advances: Array<{ from: string; moved: boolean }> = [];
  /** How many of the next inventory.reserve calls wait until the test lets them go. */
  let holdReserves = 0;
  const user = { id: "buyer-1", role: "customer" as const };

  const fakes: ServiceSchema[] = [
    {
      name: "inventory",
      actions: {
        health: () => ({ service: "inventory", database: true }),
        getMany: () => [],
        async reserve(ctx: any) {
          const { orderId } = ctx.params;
          if (holdReserves > 0 && holdReserves--)
            await new Promise<void>((release, fail) => held.push({ orderId, release, fail }));
          if (!reservations.has(orderId)) reservations.set(orderId, "reserved");
          return { orderId, state: reservations.get(orderId), lines: ctx.params.lines, expiresAt: "" };
        },
        commit(ctx: any) {
          const { orderId } = ctx.params;
          if (reservations.get(orderId) === "reserved") reservations.set(orderId, "committed");
          return { orderId, state: reservations.get(orderId), lines: [], expiresAt: "" };
        },
        release(ctx: any) {
          reservations.set(ctx.params.orderId, "released");
          return { orderId: ctx.params.orderId, state: "released", lines: [], expiresAt: "" };
        },
      },
    },
    {
      name: "payments",
      actions: {
        health: () => ({ service: "payments", database: true }),
        charge(ctx: any) {
          charges.push(ctx.params.orderId);
          return { id: `pay-${ctx.params.orderId}`, orderId: ctx.params.orderId, status: "succeeded" };
        },
        refund(ctx: any) {
          refunds.push(ctx.params.orderId);
          return { id: `pay-${ctx.params.orderId}`, orderId: ctx.params.orderId, status: "refunded" };
        },
      },
    },
    {
      name: "products",
      actions: { get: (ctx: any) => simpleProduct(ctx.params.id, "Lamp", 1999) },
    },
    {
      name: "carts",
      actions: { health: () => ({ service: "carts", database: true }), removeOrdered: () => null },
    },
  ];

  const order = (id: string) => orders.adapter.findById(id);
  const place = () =>
    broker.call(
      "orders.place",
      { items: [{ productId: "lamp", quantity: 1 }], payment: VISA, shippingAddress: ADDRESS },
      { meta: { user } },
    ) as Promise<any>;
  /** Driver A places an order and is held inside its reserve call; its lease then runs out. */
  const driverAStalledInReserve = async () => {
    holdReserves = 2;
    const a = place();
    const [heldA] = await waitFor(
      "driver A to be inside reserve",
      async () => held.length === 1 && held,
      5000,
      10,
    );
    await orders.updateOneIf({ _id: heldA.orderId }, { $set: { leaseUntil: Date.now() - 1 } });
    return { a, heldA, orderId: heldA.orderId };
  };
  /** Driver B (recovery) claims the order and is held inside its own reserve call. */
  const driverBHeldInReserve = async () => {
    const b = orders.recover();
    const heldB = await waitFor(
      "driver B to be inside reserve",
      async () => held.length === 2 && held[1],
      5000,
      10,
    );
    return { b, heldB };
  };

  beforeAll(async () => {
    process.env.DATA_DIR = fs.mkdtempSync(path.join(os.tmpdir(), "saga-unit-"));
    broker = new ServiceBroker({ ...brokerOptions(reloadConfig()), logger: false });
    orders = broker.createService(require("../../services/orders.service").default);
    for (const f of fakes) broker.createService(f);
    await broker.start();
    // Only the tests below run recovery, at the moment they choose.
    for (const t of orders.timers) clearInterval(t);
    const advance = orders.advance;
    orders.advance = async (d: any, ...rest: unknown[]) => {
      const moved = await advance(d, ...rest);
      advances.push({ from: d.step, moved: Boolean(moved) });
      return moved;
    };
  });
  afterEach(() => {
    holdReserves = 0;
    advances.splice(0);
    for (const h of held.splice(0)) h.release();
  });
  afterAll(() => broker.stop());

  it("should confirm, never refund, an order already sold when a second driver resumes it at charge", async () => {
    // Driver A reserved, charged and committed; driver B read the order while it was still at charge.
    const a = await place();
    const stale = { ...(await order(a.id)), step: "charge", status: "pending", leaseUntil: Date.now() - 1 };
    stale.history = stale.history.filter((h: any) => h.status === "pending");
    await orders.adapter.removeById(a.id);
    await orders.adapter.insert(stale);
    expect(reservations.get(a.id)).toBe("committed");

    await orders.recover();

    const after = await order(a.id);
    expect(refunds).not.toContain(a.id);
    expect(after).toMatchObject({ status: "confirmed", step: "done", payment: { status: "succeeded" } });
    expect(after.history.filter((h: any) => h.status === "confirmed")).toHaveLength(1);
    expect(reservations.get(a.id)).toBe("committed");
  });

  it("should refuse the late step of a driver whose order another driver took over", async () => {
    const { a, heldA, orderId } = await driverAStalledInReserve();
    const { b, heldB } = await driverBHeldInReserve();
    const owner = (await order(orderId)).leaseOwner;

    heldA.release();
    // A's reserve answered; its attempt to move the order on must not count while B holds it.
    const [late] = await waitFor(
      "driver A's late step",
      async () => advances.length > 0 && advances,
      5000,
      10,
    );
    expect(late).toEqual({ from: "reserve", moved: false });
    expect(await order(orderId)).toMatchObject({ step: "reserve", status: "pending", leaseOwner: owner });

    heldB.release();
    await b;
    expect(await a).toMatchObject({ id: orderId, status: "confirmed" });
    expect(charges.filter((id) => id === orderId)).toHaveLength(1);
  });

  it("should keep the new owner's lease when the driver it took the order from fails", async () => {
    const { a, heldA, orderId } = await driverAStalledInReserve();
    const { b, heldB } = await driverBHeldInReserve();

    heldA.fail(new Errors.MoleculerError("The stock store failed", 500, "STORE_ERROR"));
    await expect(a).rejects.toMatchObject({ code: 500, type: "STORE_ERROR" });
    const during = await order(orderId);
    expect(during.leaseUntil).toBeGreaterThan(Date.now());

    heldB.release();
    await b;
    expect(await order(orderId)).toMatchObject({ status: "confirmed", step: "done" });
    expect(charges.filter((id) => id === orderId)).toHaveLength(1);
  });

  it("should keep renewing the lease of a driver whose step outlasts it, so no second driver starts", async () => {
    // A lease of 0.9 s, renewed every 0.3 s; the step takes 1.5 s.
    orders.leaseMs = 900;
    try {
      holdReserves = 1;
      const a = place();
      const [heldA] = await waitFor(
        "driver A to be inside reserve",
        async () => held.length === 1 && held,
        5000,
        10,
      );
      await sleep(1500);
      expect((await order(heldA.orderId)).leaseUntil).toBeGreaterThan(Date.now());
      await orders.recover();
      expect(held).toHaveLength(1);
      heldA.release();
      expect(await a).toMatchObject({ status: "confirmed" });
    } finally {
      orders.leaseMs = 30_000;
    }
  });
});
