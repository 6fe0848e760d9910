/**
 * The broker's in-memory cacher (no REDIS_URL) holds the gateway's catalogue reads and the
 * services' cached actions: one entry per distinct query, so it must stay bounded.
 */
import { ServiceBroker } from "moleculer";
import { loadConfig } from "../../lib/config";
import { BoundedMemoryCacher } from "../../lib/lru-cacher";
import { brokerOptions } from "../../moleculer.config";
import { sleep } from "../support/fixtures";

const MAX = 5;

describe("the in-memory cacher with CACHE_MAX_ENTRIES", () => {
  let broker: ServiceBroker;
  const size = () => (broker.cacher as any).cache.size as number;
  const cached = async (key: string) => (await broker.cacher!.get(key)) != null;

  beforeEach(async () => {
    const cfg = loadConfig({ CACHE_MAX_ENTRIES: String(MAX), LOG_LEVEL: "fatal" });
    broker = new ServiceBroker(brokerOptions(cfg, { middlewares: [] }));
    await broker.start();
  });
  afterEach(() => broker.stop());

  it("should default to 10000 entries", () => {
    expect(loadConfig({}).cacheMaxEntries).toBe(10_000);
  });

  it("should never hold more entries than the maximum however many distinct keys are stored", async () => {
    for (let i = 0; i < MAX * 4; i++) {
      await broker.cacher!.set(`products.gw.list:q${i}`, { page: i });
      expect(size()).toBeLessThanOrEqual(MAX);
    }
    expect(size()).toBe(MAX);
  });

  it("should evict the oldest entries first", async () => {
    for (let i = 0; i < MAX + 2; i++) await broker.cacher!.set(`products.gw.list:q${i}`, { page: i });
    expect(await cached("products.gw.list:q0")).toBe(false);
    expect(await cached("products.gw.list:q1")).toBe(false);
    expect(await cached(`products.gw.list:q${MAX + 1}`)).toBe(true);
  });

  it("should keep a key that is read between the inserts", async () => {
    await broker.cacher!.set("products.gw.get:hot", { id: "hot" });
    for (let i = 0; i < MAX * 4; i++) {
      await broker.cacher!.set(`products.gw.list:q${i}`, { page: i });
      expect(await broker.cacher!.get("products.gw.get:hot")).toEqual({ id: "hot" });
    }
  });
});

describe("the in-memory cacher's TTL", () => {
  it("should expire an entry after its TTL even when it is read all along", async () => {
    const cacher = new BoundedMemoryCacher({ ttl: 1, max: 10 });
    const broker = new ServiceBroker({ logger: false, cacher });
    await broker.start();
    try {
      await cacher.set("products.gw.get:hot", { id: "hot" });
      for (let i = 0; i < 6; i++) {
        await sleep(250);
        await cacher.get("products.gw.get:hot");
      }
      expect(await cacher.get("products.gw.get:hot")).toBeUndefined();
    } finally {
      await broker.stop();
    }
  });
});
