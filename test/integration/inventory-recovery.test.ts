/**
 * Reserved stock never leaks: a store error (or crash) at every write of a reservation and of each
 * settlement, then the sweep every node runs, and for every product
 * available + reserved + sold == stock put in, and reserved == what the live reservations hold.
 * On NeDB always; also on the MongoDB API server with TEST_INFRA=1 (a fresh database per run).
 */
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ServiceBroker } from "moleculer";
import { reloadConfig } from "../../lib/config";
import { brokerOptions } from "../../moleculer.config";
import { TEST_INFRA, infraEnv } from "../support/cluster";
import { withStoreFault, type FaultPlan } from "../support/store-faults";

const TTL_SECONDS = 60;
/** Past the grace after which the sweep finishes a settlement, short of any reservation's expiry. */
const AFTER_A_CRASH_MS = 10_000;
const AFTER_THE_TTL_MS = (TTL_SECONDS + 60) * 1000;
const MAX_WRITES = 40;

type Line = { productId: string; quantity: number };
type Scenario = {
  /** Stock put in per product suffix. */
  stock: Record<string, number>;
  lines: Array<[string, number]>;
  /** Unfaulted: what happened to the order before the faulted step. */
  setup?: (orderId: string, lines: Line[]) => Promise<unknown>;
  step: (orderId: string, lines: Line[]) => Promise<unknown>;
  before?: (orderId: string, products: string[]) => FaultPlan["before"];
};

const STORES = TEST_INFRA ? ["NeDB", "MongoDB"] : ["NeDB"];

describe.each(STORES)("reserved stock after a crash at any write, on %s", (store) => {
  let broker: ServiceBroker;
  let svc: any;
  /** Recovery runs here: on MongoDB another node on the same data, as the crashed one would not. */
  let sweeper: any;
  const brokers: ServiceBroker[] = [];
  let mongoUri: string | undefined;

  const call = (action: string, params: object): Promise<any> => broker.call(action, params);
  const reserve = (orderId: string, lines: Line[]) => call("inventory.reserve", { orderId, lines });
  const sweepAfter = (ms: number) => sweeper.sweep(Date.now() + ms);

  /** What a user could count: units on the shelf, held, and sold (in committed orders). */
  async function books(products: string[], orderIds: string[]) {
    const reservations: any[] = await svc.adapter.find({
      query: { kind: "reservation", orderId: { $in: orderIds } },
    });
    const sum = (state: string, productId: string) =>
      reservations
        .filter((r) => r.state === state)
        .flatMap((r) => r.lines as Line[])
        .filter((l) => l.productId === productId)
        .reduce((n, l) => n + l.quantity, 0);
    const levels = await Promise.all(products.map((productId) => call("inventory.get", { productId })));
    return {
      pending: reservations.some((r) => r.state === "pending"),
      products: levels.map((l) => ({
        productId: l.productId,
        onShelfHeldSold: l.available + l.reserved + sum("committed", l.productId),
        reserved: l.reserved,
        heldByLiveReservations: sum("reserved", l.productId),
      })),
    };
  }

  async function expectConserved(stock: Record<string, number>, products: string[], orderIds: string[]) {
    const b = await books(products, orderIds);
    expect(b.products.map((p) => p.onShelfHeldSold)).toEqual(products.map((p) => stock[p.split("~")[1]]));
    // A pending reservation's holds are not in its document's state; it expires with the TTL.
    if (!b.pending)
      expect(b.products.map((p) => p.reserved)).toEqual(b.products.map((p) => p.heldByLiveReservations));
  }

  /** For N = 1, 2, ...: fresh products, the step failing at its Nth write, the sweep, the books. */
  async function everyWriteOf(name: string, s: Scenario) {
    let faulted = 0;
    for (let n = 1; n <= MAX_WRITES; n++) {
      const prefix = `${name}-${n}-${randomUUID().slice(0, 8)}`;
      const products = Object.keys(s.stock).map((k) => `${prefix}~${k}`);
      for (const p of products)
        await call("inventory.init", { productId: p, available: s.stock[p.split("~")[1]] });
      const orderId = `${prefix}-order`;
      const lines = s.lines.map(([k, quantity]) => ({ productId: `${prefix}~${k}`, quantity }));
      await s.setup?.(orderId, lines);
      const fired = await withStoreFault(svc, { failAt: n, before: s.before?.(orderId, products) }, () =>
        s.step(orderId, lines),
      );
      await sweepAfter(AFTER_A_CRASH_MS);
      await expectConserved(s.stock, products, [orderId]);
      await sweepAfter(AFTER_THE_TTL_MS);
      await expectConserved(s.stock, products, [orderId]);
      if (!fired) return faulted;
      faulted++;
    }
    throw new Error(`${name} still writing after ${MAX_WRITES} writes`);
  }

  beforeAll(async () => {
    process.env.DATA_DIR = fs.mkdtempSync(path.join(os.tmpdir(), "inventory-recovery-"));
    process.env.RESERVATION_TTL_SECONDS = String(TTL_SECONDS);
    process.env.LOW_STOCK_THRESHOLD = "5";
    if (store === "MongoDB") {
      mongoUri = infraEnv().MONGO_URI.replace(/\/[^/?]*(\?|$)/, `/inventory_recovery_${Date.now()}$1`);
      process.env.MONGO_URI = mongoUri;
    }
    const config = reloadConfig();
    const startNode = async () => {
      const node = new ServiceBroker({
        ...brokerOptions(config),
        nodeID: `inv-${brokers.length}`,
        logger: false,
      });
      let service: any;
      // DbMixin creates its adapter when the service module loads: one module instance per node.
      jest.isolateModules(() => {
        service = node.createService(require("../../services/inventory.service").default);
      });
      await node.start();
      if (Boolean(service.adapter.collection) !== (store === "MongoDB")) throw new Error(`not on ${store}`);
      // The timer would race the explicit sweeps below.
      clearInterval(service.sweepTimer);
      brokers.push(node);
      return { node, service };
    };
    ({ node: broker, service: svc } = await startNode());
    // NeDB is one process's file: there the same instance recovers.
    sweeper = store === "MongoDB" ? (await startNode()).service : svc;
  });
  afterAll(async () => {
    if (mongoUri) await svc.adapter.db.dropDatabase();
    for (const b of brokers) await b.stop();
    for (const v of ["RESERVATION_TTL_SECONDS", "LOW_STOCK_THRESHOLD", "MONGO_URI"]) delete process.env[v];
    reloadConfig();
  });

  // "b" sits near the low-stock threshold, so its take is the compare-and-set path, not the fast one.
  const STOCK = { a: 20, b: 6 };
  const LINES: Array<[string, number]> = [
    ["a", 3],
    ["b", 2],
  ];

  it("should leak nothing when a reservation stops at any of its writes", async () => {
    expect(await everyWriteOf("reserve", { stock: STOCK, lines: LINES, step: reserve })).toBeGreaterThan(2);
  });

  it("should leak nothing when a reservation that fails on its last line stops at any of its writes", async () => {
    const lines: Array<[string, number]> = [...LINES, ["c", 2]];
    const step = (orderId: string, lines: Line[]) =>
      reserve(orderId, lines).catch((err) => {
        if (err.type !== "INSUFFICIENT_STOCK") throw err;
      });
    expect(await everyWriteOf("fail", { stock: { ...STOCK, c: 1 }, lines, step })).toBeGreaterThan(2);
  });

  it("should leak nothing when a reservation released while it is taking stops at any later write", async () => {
    let released = false;
    const faulted = await everyWriteOf("raced", {
      stock: STOCK,
      lines: LINES,
      step: reserve,
      // The release lands just before the second line is taken, the take then holds for nothing.
      before: (orderId, [, b]) => {
        released = false;
        return async ({ filter, update }) => {
          if (released || filter._id !== b || !(update?.$inc?.reserved > 0)) return;
          released = true;
          await call("inventory.release", { orderId });
        };
      },
    });
    expect(faulted).toBeGreaterThan(1);
  });

  it("should leak nothing when a commit stops at any of its writes", async () => {
    const setup = reserve;
    const step = (orderId: string) => call("inventory.commit", { orderId });
    expect(await everyWriteOf("commit", { stock: STOCK, lines: LINES, setup, step })).toBeGreaterThan(2);
  });

  it("should leak nothing when a release stops at any of its writes", async () => {
    const setup = reserve;
    const step = (orderId: string) => call("inventory.release", { orderId });
    expect(await everyWriteOf("release", { stock: STOCK, lines: LINES, setup, step })).toBeGreaterThan(2);
  });

  it("should leak nothing when returning a committed order's stock stops at any of its writes", async () => {
    const setup = async (orderId: string, lines: Line[]) => {
      await reserve(orderId, lines);
      await call("inventory.commit", { orderId });
    };
    const step = (orderId: string) => call("inventory.release", { orderId });
    expect(await everyWriteOf("returned", { stock: STOCK, lines: LINES, setup, step })).toBeGreaterThan(2);
  });

  it("should leak nothing when the expiry sweep stops at any of its writes", async () => {
    const step = () => svc.sweep(Date.now() + AFTER_THE_TTL_MS);
    expect(
      await everyWriteOf("expire", { stock: STOCK, lines: LINES, setup: reserve, step }),
    ).toBeGreaterThan(2);
  });

  it("should finish a commit that stopped part-way, so the order's units count as sold", async () => {
    await call("inventory.init", { productId: "fin-a", available: 10 });
    await call("inventory.init", { productId: "fin-b", available: 10 });
    const lines = [
      { productId: "fin-a", quantity: 1 },
      { productId: "fin-b", quantity: 4 },
    ];
    await reserve("fin-order", lines);
    // Write 1 is the state change, 2 moves the first line: stop right after it.
    expect(
      await withStoreFault(svc, { failAt: 3 }, () => call("inventory.commit", { orderId: "fin-order" })),
    ).toBe(true);
    await sweepAfter(AFTER_A_CRASH_MS);
    expect(await call("inventory.get", { productId: "fin-b" })).toEqual({
      productId: "fin-b",
      available: 6,
      reserved: 0,
    });
    expect(await call("inventory.commit", { orderId: "fin-order" })).toMatchObject({ state: "committed" });
  });

  it("should let a retried reserve finish the takes of a call that stopped part-way", async () => {
    await call("inventory.init", { productId: "retry-a", available: 10 });
    await call("inventory.init", { productId: "retry-b", available: 10 });
    const lines = [
      { productId: "retry-a", quantity: 2 },
      { productId: "retry-b", quantity: 3 },
    ];
    // Write 1 inserts the reservation, 2 takes the first line: stop at the next one.
    expect(await withStoreFault(svc, { failAt: 3 }, () => reserve("retry-order", lines))).toBe(true);
    expect(await reserve("retry-order", lines)).toMatchObject({ state: "reserved" });
    expect(await call("inventory.get", { productId: "retry-a" })).toMatchObject({
      available: 8,
      reserved: 2,
    });
    expect(await call("inventory.get", { productId: "retry-b" })).toMatchObject({
      available: 7,
      reserved: 3,
    });
  });

  it("should never oversell one product under many concurrent reservations", async () => {
    await call("inventory.init", { productId: "hot", available: 30 });
    const orderIds = Array.from({ length: 40 }, (_, i) => `hot-${i}`);
    const answers = await Promise.all(
      orderIds.map((orderId) => reserve(orderId, [{ productId: "hot", quantity: 1 }]).catch(() => null)),
    );
    expect(answers.filter((a) => a?.state === "reserved")).toHaveLength(30);
    expect(await call("inventory.get", { productId: "hot" })).toEqual({
      productId: "hot",
      available: 0,
      reserved: 30,
    });
  });

  it("should conserve stock when reservations, duplicate calls, commits and releases race", async () => {
    const stock = { a: 40, b: 25 };
    const products = ["race~a", "race~b"];
    for (const p of products)
      await call("inventory.init", { productId: p, available: stock[p.split("~")[1] as "a" | "b"] });
    const orderIds = Array.from({ length: 16 }, (_, i) => `race-${i}`);
    const lines = [
      { productId: "race~a", quantity: 3 },
      { productId: "race~b", quantity: 2 },
    ];
    const swallow = () => null;
    await Promise.all(
      orderIds.flatMap((orderId, i) => [
        reserve(orderId, lines).catch(swallow),
        reserve(orderId, lines).catch(swallow),
        i % 3 === 0 ? call("inventory.release", { orderId }).catch(swallow) : null,
        i % 3 === 1 ? call("inventory.commit", { orderId }).catch(swallow) : null,
      ]),
    );
    await Promise.all(
      orderIds.map((orderId, i) => (i % 2 ? call("inventory.release", { orderId }).catch(swallow) : null)),
    );
    await sweepAfter(AFTER_A_CRASH_MS);
    await expectConserved(stock, products, orderIds);
    await sweepAfter(AFTER_THE_TTL_MS);
    await expectConserved(stock, products, orderIds);
  });
});
