/**
 * The gateway's catalogue read cache, in memory (no REDIS_URL): every distinct query is an entry,
 * so a client walking through pages must not grow it past CACHE_MAX_ENTRIES.
 */
import type { ServiceBroker } from "moleculer";
import { jsonClient } from "../support/http";
import { bootNode } from "../support/node";

const MAX = 4;

describe("the gateway read cache with CACHE_MAX_ENTRIES", () => {
  let broker: ServiceBroker;
  let base: string;
  const http = jsonClient(() => base);
  const entries = () => (broker.cacher as any).cache.size as number;

  beforeAll(async () => {
    ({ broker, base } = await bootNode({
      SERVICES: "api,tokens,products,inventory",
      REDIS_URL: undefined,
      CACHE_MAX_ENTRIES: String(MAX),
      RATE_LIMIT_PER_MINUTE: "100000",
    }));
  }, 60_000);
  afterAll(() => broker?.stop());

  it("should hold no more entries than the maximum while distinct queries keep coming", async () => {
    for (let page = 1; page <= MAX * 5; page++) {
      expect((await http("GET", `/api/products?page=${page}`)).status).toBe(200);
      expect(entries()).toBeLessThanOrEqual(MAX);
    }
  });
});
