import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ServiceBroker, type ServiceSchema } from "moleculer";
import type { EventEnvelope } from "../../contracts";
import { publish } from "../../lib/channels";
import { loadConfig, reloadConfig } from "../../lib/config";
import { brokerOptions } from "../../moleculer.config";
import {
  SETTLEMENTS,
  crossesBelow,
  giveBack,
  holdKey,
  holdPath,
  isOrphanHold,
  linesToMove,
  newReservation,
  noCrossingFloor,
  normalizeLines,
  stockDelta,
  type ReservationDoc,
} from "../../domain/inventory";

const ADMIN = { meta: { user: { id: "admin-1", role: "admin" as const } } };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("reservation and stock rules", () => {
  it("should merge repeated products into one line, keeping the order asked", () => {
    expect(
      normalizeLines([
        { productId: "b", quantity: 1 },
        { productId: "a", quantity: 2 },
        { productId: "b", quantity: 3 },
      ]),
    ).toEqual([
      { productId: "b", quantity: 4 },
      { productId: "a", quantity: 2 },
    ]);
  });

  it("should see a low-stock crossing only when available goes from at/above the threshold to below it", () => {
    expect(crossesBelow(5, 4, 5)).toBe(true);
    expect(crossesBelow(9, 0, 5)).toBe(true);
    expect(crossesBelow(4, 3, 5)).toBe(false);
    expect(crossesBelow(6, 5, 5)).toBe(false);
    expect(crossesBelow(3, 10, 5)).toBe(false);
    expect(crossesBelow(1, 0, 0)).toBe(false);
  });

  it("should only let takes that cannot cross the threshold skip the exact check", () => {
    for (let before = 0; before < 20; before++)
      for (const q of [1, 2, 3, 7])
        if (before >= noCrossingFloor(q, 5)) expect(crossesBelow(before, before - q, 5)).toBe(false);
  });

  it("should give held stock back on release, expiry and failure, and sold stock back after a commit", () => {
    expect(stockDelta("reserved", "committed", 3)).toEqual({ available: 0, reserved: -3 });
    expect(stockDelta("reserved", "released", 3)).toEqual({ available: 3, reserved: -3 });
    expect(stockDelta("pending", "expired", 3)).toEqual({ available: 3, reserved: -3 });
    expect(stockDelta("pending", "failed", 3)).toEqual({ available: 3, reserved: -3 });
    expect(stockDelta("committed", "released", 3)).toEqual({ available: 3, reserved: 0 });
    expect(SETTLEMENTS.commit.from).toEqual(["reserved"]);
    expect(SETTLEMENTS.expire.from).not.toContain("committed");
  });

  it("should key a hold by any order id without a dot or a dollar in the field name", () => {
    for (const orderId of ["o1", "a.b", "$where", "ü/€ 1", "x".repeat(100)]) {
      expect(holdKey(orderId)).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(holdPath(orderId)).toBe(`holds.${holdKey(orderId)}`);
    }
    expect(holdKey("a.b")).not.toBe(holdKey("a-b"));
  });

  it("should count a hold as belonging to nothing only once its reservation is settled and done moving", () => {
    const r = (state: ReservationDoc["state"], settlingSinceMs?: number) =>
      ({ ...newReservation("o1", [], "pending", 0, 60), state, settlingSinceMs }) as ReservationDoc;
    expect(isOrphanHold(null)).toBe(true);
    expect(isOrphanHold(r("pending"))).toBe(false);
    expect(isOrphanHold(r("reserved"))).toBe(false);
    expect(isOrphanHold(r("committed", 5))).toBe(false);
    for (const state of ["failed", "committed", "released", "expired"] as const)
      expect(isOrphanHold(r(state))).toBe(true);
  });

  it("should give an orphan hold's units back to available", () => {
    expect(giveBack(4)).toEqual({ available: 4, reserved: -4 });
  });

  it("should move all lines under holds, but only the taken ones of a reservation from before holds", () => {
    const lines = [
      { productId: "a", quantity: 1 },
      { productId: "b", quantity: 2 },
    ];
    expect(linesToMove(newReservation("o1", lines, "pending", 0, 60))).toEqual({ lines, unheld: false });
    const legacy = { ...newReservation("o1", lines, "pending", 0, 60), moving: undefined, taken: [lines[0]] };
    expect(linesToMove(legacy as unknown as ReservationDoc)).toEqual({ lines: [lines[0]], unheld: true });
  });

  it("should let a pending reservation expire after the TTL and a tombstone right away", () => {
    expect(newReservation("o1", [], "pending", 1000, 900).expiresAtMs).toBe(901_000);
    expect(newReservation("o1", [], "released", 1000, 900).expiresAtMs).toBe(1000);
  });
});

describe("inventory settings", () => {
  it("should default to a 900 s reservation TTL and a low-stock threshold of 5", () => {
    expect(loadConfig({})).toMatchObject({ reservationTtlSeconds: 900, lowStockThreshold: 5 });
  });

  it.each([
    ["RESERVATION_TTL_SECONDS", "0"],
    ["RESERVATION_TTL_SECONDS", "15m"],
    ["LOW_STOCK_THRESHOLD", "-1"],
  ])("should refuse %s=%s with a message naming the variable", (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`\\b${name}\\b`));
  });
});

/** The inventory service alone, on NeDB, with a listener for its events. */
describe("the inventory service", () => {
  const low: EventEnvelope<"inventory.low">[] = [];
  let broker: ServiceBroker;
  let svc: any;

  const listener = {
    name: "listener",
    channels: {
      "inventory.low": { group: "test", handler: (ctx: any) => void low.push(ctx.params) },
    },
  } as ServiceSchema;

  const init = (productId: string, available: number) =>
    broker.call("inventory.init", { productId, available }) as Promise<any>;
  const level = (productId: string) => broker.call("inventory.get", { productId }) as Promise<any>;
  const reserve = (orderId: string, lines: Array<[string, number]>) =>
    broker.call("inventory.reserve", {
      orderId,
      lines: lines.map(([productId, quantity]) => ({ productId, quantity })),
    }) as Promise<any>;

  beforeAll(async () => {
    process.env.DATA_DIR = fs.mkdtempSync(path.join(os.tmpdir(), "inventory-unit-"));
    process.env.RESERVATION_TTL_SECONDS = "1";
    process.env.LOW_STOCK_THRESHOLD = "5";
    broker = new ServiceBroker({ ...brokerOptions(reloadConfig()), logger: false });
    svc = broker.createService(require("../../services/inventory.service").default);
    broker.createService(listener);
    await broker.start();
    // The timer would race the explicit sweeps below.
    clearInterval(svc.sweepTimer);
  });
  afterAll(async () => {
    await broker.stop();
    delete process.env.RESERVATION_TTL_SECONDS;
    delete process.env.LOW_STOCK_THRESHOLD;
  });

  it("should keep nothing reserved when the last of three lines lacks stock", async () => {
    await Promise.all([init("a1", 10), init("a2", 10), init("a3", 1)]);
    await expect(
      reserve("order-a", [
        ["a1", 2],
        ["a2", 3],
        ["a3", 2],
      ]),
    ).rejects.toMatchObject({ code: 409, type: "INSUFFICIENT_STOCK", data: { productId: "a3" } });
    expect(await level("a1")).toEqual({ productId: "a1", available: 10, reserved: 0 });
    expect(await level("a2")).toEqual({ productId: "a2", available: 10, reserved: 0 });
    expect(await level("a3")).toEqual({ productId: "a3", available: 1, reserved: 0 });
    // The same order asked again answers the same, and still takes nothing.
    await expect(reserve("order-a", [["a1", 2]])).rejects.toMatchObject({
      code: 409,
      data: { productId: "a3" },
    });
    expect((await level("a1")).available).toBe(10);
    // Compensating a failed reservation is a no-op, not an error; it cannot be committed.
    expect(await broker.call("inventory.release", { orderId: "order-a" })).toMatchObject({ state: "failed" });
    await expect(broker.call("inventory.commit", { orderId: "order-a" })).rejects.toMatchObject({
      type: "RESERVATION_NOT_ACTIVE",
    });
    expect((await level("a1")).available).toBe(10);
  });

  it("should decrement once for the same orderId, even when the calls race", async () => {
    await init("b1", 20);
    const answers = await Promise.all(Array.from({ length: 20 }, () => reserve("order-b", [["b1", 3]])));
    expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(1);
    expect(answers[0]).toMatchObject({
      orderId: "order-b",
      state: "reserved",
      lines: [{ productId: "b1", quantity: 3 }],
    });
    expect(await level("b1")).toEqual({ productId: "b1", available: 17, reserved: 3 });
  });

  it("should make release and commit idempotent, and return sold stock when a committed order is released", async () => {
    await init("c1", 10);
    await reserve("order-c", [["c1", 4]]);
    expect((await broker.call("inventory.commit", { orderId: "order-c" })) as any).toMatchObject({
      state: "committed",
    });
    await broker.call("inventory.commit", { orderId: "order-c" });
    expect(await level("c1")).toEqual({ productId: "c1", available: 6, reserved: 0 });

    await broker.call("inventory.release", { orderId: "order-c" });
    await broker.call("inventory.release", { orderId: "order-c" });
    expect(await level("c1")).toEqual({ productId: "c1", available: 10, reserved: 0 });
    await expect(broker.call("inventory.commit", { orderId: "order-c" })).rejects.toMatchObject({
      code: 409,
      type: "RESERVATION_NOT_ACTIVE",
    });

    await reserve("order-d", [["c1", 2]]);
    await broker.call("inventory.release", { orderId: "order-d" });
    await broker.call("inventory.release", { orderId: "order-d" });
    expect(await level("c1")).toEqual({ productId: "c1", available: 10, reserved: 0 });
  });

  it("should take nothing for an order released before its reservation arrived", async () => {
    await init("e1", 5);
    expect(await broker.call("inventory.release", { orderId: "order-late" })).toMatchObject({
      state: "released",
    });
    expect(await reserve("order-late", [["e1", 1]])).toMatchObject({ state: "released" });
    expect((await level("e1")).available).toBe(5);
  });

  it("should give an expired reservation's stock back, once, however many sweepers run", async () => {
    await init("f1", 10);
    await reserve("order-f", [["f1", 6]]);
    expect(await level("f1")).toMatchObject({ available: 4, reserved: 6 });
    await sleep(1100);
    await Promise.all([svc.sweepExpired(), svc.sweepExpired(), svc.sweepExpired()]);
    // Given back twice, available would be 16.
    expect(await level("f1")).toEqual({ productId: "f1", available: 10, reserved: 0 });
    expect(await svc.sweepExpired()).toBe(0);
    await expect(broker.call("inventory.commit", { orderId: "order-f" })).rejects.toMatchObject({
      code: 409,
    });
  });

  it("should emit inventory.low once each time available crosses below the threshold", async () => {
    await init("g1", 8);
    for (let i = 0; i < 8; i++) await reserve(`order-g${i}`, [["g1", 1]]);
    await broker.call("inventory.set", { productId: "g1", available: 9 }, ADMIN);
    await broker.call("inventory.set", { productId: "g1", available: 2 }, ADMIN);
    await broker.call("inventory.set", { productId: "g1", available: 1 }, ADMIN);
    await sleep(50);
    expect(low.filter((e) => e.key === "g1").map((e) => e.data)).toEqual([
      { productId: "g1", variantId: "g1", available: 4, threshold: 5 },
      { productId: "g1", variantId: "g1", available: 2, threshold: 5 },
    ]);
  });

  it("should emit inventory.low once when many concurrent reservations cross the threshold", async () => {
    await init("h1", 30);
    await Promise.all(
      Array.from({ length: 40 }, (_, i) => reserve(`order-h${i}`, [["h1", 1]]).catch(() => null)),
    );
    await sleep(50);
    expect(low.filter((e) => e.key === "h1")).toHaveLength(1);
    expect(await level("h1")).toEqual({ productId: "h1", available: 0, reserved: 30 });
  });

  it("should create a missing record on product.created, once, and hide the product on product.deleted", async () => {
    const created = { eventId: "e1", type: "product.created", data: { productId: "k1" } };
    await publish(broker, "product.created", created);
    await publish(broker, "product.created", created);
    await sleep(50);
    expect(await level("k1")).toEqual({ productId: "k1", available: 0, reserved: 0 });
    await init("k1", 7);
    await publish(broker, "product.created", created);
    await sleep(50);
    expect((await level("k1")).available).toBe(7);

    await publish(broker, "product.deleted", {
      eventId: "e2",
      type: "product.deleted",
      data: { productId: "k1" },
    });
    await sleep(50);
    await expect(level("k1")).rejects.toMatchObject({ code: 404 });
    await expect(reserve("order-k", [["k1", 1]])).rejects.toMatchObject({ code: 409 });
  });

  it("should give back the stock of a reservation written before holds existed", async () => {
    await init("m1", 10);
    // As the previous version stored a reservation of 3 units: `taken`, no hold on the stock.
    await svc.updateOneIf({ _id: "m1" }, { $inc: { available: -3, reserved: 3 } });
    const lines = [{ productId: "m1", quantity: 3 }];
    const { moving: _none, ...legacy } = newReservation("order-m", lines, "pending", Date.now(), 60);
    await svc.adapter.insert({ ...legacy, state: "reserved", taken: lines });
    expect(await broker.call("inventory.release", { orderId: "order-m" })).toMatchObject({
      state: "released",
    });
    await broker.call("inventory.release", { orderId: "order-m" });
    expect(await level("m1")).toEqual({ productId: "m1", available: 10, reserved: 0 });
  });

  it("should answer 404 for an unknown product and refuse a negative level", async () => {
    await expect(level("nope")).rejects.toMatchObject({ code: 404 });
    await expect(
      broker.call("inventory.set", { productId: "nope", available: 1 }, ADMIN),
    ).rejects.toMatchObject({
      code: 404,
    });
    await expect(
      broker.call("inventory.set", { productId: "a1", available: -1 }, ADMIN),
    ).rejects.toMatchObject({
      code: 422,
    });
    await expect(
      broker.call("inventory.set", { productId: "a1", available: 1, reserved: 0 }, ADMIN),
    ).rejects.toMatchObject({ code: 422 });
  });
});
