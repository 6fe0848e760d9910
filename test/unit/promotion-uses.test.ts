/**
 * pricing.redeem / pricing.release (mixins/promotion-uses.mixin.ts) on NeDB: each use is counted
 * once per order however often the saga's step runs, also after a crash between the count and its
 * record, and given back once.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ServiceBroker } from "moleculer";
import { reloadConfig } from "../../lib/config";
import { brokerOptions } from "../../moleculer.config";

const ADMIN = { meta: { user: { id: "admin", role: "admin" } } };

describe("promotion uses", () => {
  let broker: ServiceBroker;
  let svc: any;
  let seq = 0;

  beforeAll(async () => {
    process.env.DATA_DIR = fs.mkdtempSync(path.join(os.tmpdir(), "promotion-uses-"));
    broker = new ServiceBroker({ ...brokerOptions(reloadConfig()), logger: false });
    svc = broker.createService(require("../../services/pricing.service").default);
    await broker.start();
  });
  afterAll(() => broker.stop());

  const promotion = (extra: Record<string, unknown> = {}): Promise<any> =>
    broker.call(
      "pricing.createPromotion",
      { code: `U${++seq}`, type: "percentage", value: 10, ...extra },
      ADMIN,
    );
  const redeem = (promotionId: string, orderId: string, customerKey = `user:${orderId}`) =>
    broker.call("pricing.redeem", { promotionId, orderId, customerKey }) as Promise<{ counted: boolean }>;
  const release = (orderId: string) =>
    broker.call("pricing.release", { orderId }) as Promise<{ released: boolean }>;
  const usage = async (id: string) => (await svc.adapter.findById(id)).usageCount;

  it("should count a use once when the step runs twice", async () => {
    const p = await promotion({ usageLimit: 2 });
    expect(await redeem(p.id, "o1")).toEqual({ counted: true });
    expect(await redeem(p.id, "o1")).toEqual({ counted: true });
    expect(await usage(p.id)).toBe(1);
  });

  it("should count a use once when the step crashed after the count, before its record", async () => {
    const p = await promotion({ usageLimit: 2 });
    await redeem(p.id, "o2");
    // The state a crash right after the increment leaves: record still counting, marker on the promotion.
    await svc.updateOneIf({ _id: "use:o2" }, { $set: { state: "counting" } });
    await svc.updateOneIf({ _id: p.id }, { $set: { "holds.o2": 1 } });
    expect(await redeem(p.id, "o2")).toEqual({ counted: true });
    expect(await usage(p.id)).toBe(1);
    expect((await svc.adapter.findById(p.id)).holds).toEqual({});
  });

  it("should refuse past usageLimit, and count the next one once a use is given back", async () => {
    const p = await promotion({ usageLimit: 1 });
    expect(await redeem(p.id, "o3")).toEqual({ counted: true });
    expect(await redeem(p.id, "o4")).toEqual({ counted: false });
    // A refusal stands: the same order is not counted later either.
    expect(await release("o3")).toEqual({ released: true });
    expect(await release("o3")).toEqual({ released: true });
    expect(await usage(p.id)).toBe(0);
    expect(await redeem(p.id, "o4")).toEqual({ counted: false });
    expect(await redeem(p.id, "o5")).toEqual({ counted: true });
    expect(await usage(p.id)).toBe(1);
  });

  it("should hold perCustomerLimit per customer key and give it back with the use", async () => {
    const p = await promotion({ perCustomerLimit: 1 });
    expect(await redeem(p.id, "o6", "email:ann@shop.test")).toEqual({ counted: true });
    expect(await redeem(p.id, "o7", "email:ann@shop.test")).toEqual({ counted: false });
    expect(await redeem(p.id, "o8", "user:bob")).toEqual({ counted: true });
    await release("o6");
    expect(await redeem(p.id, "o9", "email:ann@shop.test")).toEqual({ counted: true });
    expect(await usage(p.id)).toBe(2);
  });

  it("should settle a use left counting without its count as refused when it is released", async () => {
    const p = await promotion({ usageLimit: 5 });
    // A record inserted, then a crash before the increment: no marker on the promotion.
    await svc.adapter.insert({
      _id: "use:o10",
      kind: "use",
      orderId: "o10",
      promotionId: p.id,
      state: "counting",
      createdAt: new Date().toISOString(),
    });
    expect(await release("o10")).toEqual({ released: false });
    expect(await usage(p.id)).toBe(0);
  });

  it("should never pass usageLimit under concurrent redeems", async () => {
    const p = await promotion({ usageLimit: 3 });
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => redeem(p.id, `c${i}`)));
    expect(results.filter((r) => r.counted)).toHaveLength(3);
    expect(await usage(p.id)).toBe(3);
  });
});
