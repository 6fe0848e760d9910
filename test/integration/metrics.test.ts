/**
 * GET /metrics on an embedded node: Prometheus text with, by default, the process and OS gauges,
 * a request counter per action and the business counters (orders by status, declined payments,
 * notification deliveries), which move as orders are placed; with METRICS=1 Moleculer's whole set
 * (latency histograms too); with METRICS_TOKEN, only for a bearer of that token.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { ServiceBroker } from "moleculer";
import { ADDRESS, DECLINED, VISA, sleep } from "../support/fixtures";
import { jsonClient } from "../support/http";
import { bootNode } from "../support/node";

const ADMIN = { email: "metrics-admin@shop.test", password: "metrics-admin-pw" };
const TOKEN = "metrics-scrape-token-0123456789";

/** A whole node in this process, with its own config and modules; returns it and its base URL. */
async function boot(env: Record<string, string | undefined>): Promise<[ServiceBroker, string]> {
  const { broker, base } = await bootNode({
    METRICS: undefined,
    METRICS_TOKEN: undefined,
    DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), "metrics-int-")),
    RATE_LIMIT_PER_MINUTE: "1000000",
    AUTH_RATE_LIMIT_PER_MINUTE: "100000",
    ...env,
  });
  return [broker, base];
}

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a Prometheus text exposition (comments and blank lines skipped). */
function parse(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`Not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

/** Sum of the samples of `name` whose labels include `labels`. */
const total = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
  samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);

describe("GET /metrics with METRICS=1", () => {
  let broker: ServiceBroker;
  let base: string;
  let adminToken: string;
  let productId: string;
  let seq = 0;

  const http = jsonClient(() => base);
  const signup = async () => {
    const res = await http("POST", "/api/user/signup", {
      email: `metrics${++seq}-${Date.now()}@shop.test`,
      password: "buyer-password",
      name: "Buyer",
    });
    expect(res.status).toBe(201);
    return res.body.accessToken as string;
  };
  const place = (token: string, payment: object) =>
    http(
      "POST",
      "/api/orders",
      { items: [{ productId, quantity: 1 }], payment, shippingAddress: ADDRESS },
      token,
    );
  const scrape = async () => {
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    return { text, samples: parse(text) };
  };

  beforeAll(async () => {
    [broker, base] = await boot({ METRICS: "1", ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password });
    const login = await http("POST", "/api/user/login", ADMIN);
    expect(login.status).toBe(200);
    adminToken = login.body.accessToken;
    const created = await http(
      "POST",
      "/api/products",
      { name: "Metered", price: 1500, stock: 100 },
      adminToken,
    );
    expect(created.status).toBe(201);
    productId = created.body.id;
  }, 120_000);
  afterAll(() => broker?.stop());

  it("should show request metrics per action and the business counters after a checkout", async () => {
    const token = await signup();
    const ok = await place(token, VISA);
    expect(ok.status).toBe(201);
    expect(ok.body.status).toBe("confirmed");
    const declined = await place(token, DECLINED);
    expect(declined.status).toBe(402);

    // Notifications are sent from channel messages, after the 201 / 402.
    let scraped = await scrape();
    for (let i = 0; i < 100 && !total(scraped.samples, "notifications_deliveries_total"); i++) {
      await sleep(50);
      scraped = await scrape();
    }
    const { text, samples } = scraped;

    // Moleculer's own metrics: requests and a latency histogram per action, labelled by node.
    expect(text).toContain("# TYPE moleculer_request_total counter");
    expect(text).toContain("# TYPE moleculer_request_time histogram");
    const place$ = { action: "orders.place", nodeID: broker.nodeID };
    expect(total(samples, "moleculer_request_total", place$)).toBeGreaterThanOrEqual(2);
    expect(total(samples, "moleculer_request_time_count", place$)).toBeGreaterThanOrEqual(2);
    expect(total(samples, "moleculer_request_time_bucket", { ...place$, le: "+Inf" })).toBeGreaterThanOrEqual(
      2,
    );

    expect(text).toContain("# TYPE orders_total counter");
    expect(total(samples, "orders_total", { status: "confirmed" })).toBeGreaterThanOrEqual(1);
    expect(total(samples, "orders_total", { status: "payment_failed" })).toBeGreaterThanOrEqual(1);
    expect(total(samples, "orders_total", { status: "pending" })).toBeGreaterThanOrEqual(2);
    expect(total(samples, "payments_declined_total")).toBeGreaterThanOrEqual(1);
    const deliveries = samples.filter((s) => s.name === "notifications_deliveries_total");
    expect(deliveries.length).toBeGreaterThan(0);
    for (const d of deliveries) {
      expect(["email", "sms"]).toContain(d.labels.channel);
      expect(["sent", "failed", "skipped"]).toContain(d.labels.status);
      expect(d.labels.nodeID).toBe(broker.nodeID);
    }
    // No node failed to answer, and no series is rendered twice.
    expect(text).not.toMatch(/no metrics/);
    const keys = samples.map((s) => `${s.name}${JSON.stringify(s.labels)}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it("should move the counters between two scrapes", async () => {
    const token = await signup();
    const before = (await scrape()).samples;
    expect((await place(token, VISA)).status).toBe(201);
    expect((await place(token, DECLINED)).status).toBe(402);
    const after = (await scrape()).samples;
    for (const status of ["confirmed", "payment_failed"])
      expect(total(after, "orders_total", { status })).toBe(total(before, "orders_total", { status }) + 1);
    expect(total(after, "payments_declined_total")).toBe(total(before, "payments_declined_total") + 1);
    const placed = { action: "orders.place" };
    expect(total(after, "moleculer_request_total", placed)).toBe(
      total(before, "moleculer_request_total", placed) + 2,
    );
  });
});

describe("GET /metrics of a fresh install (METRICS unset)", () => {
  let broker: ServiceBroker;
  let base: string;
  const http = jsonClient(() => base);

  beforeAll(async () => {
    [broker, base] = await boot({});
  }, 120_000);
  afterAll(() => broker?.stop());

  const scrape = async () => {
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    return parse(await res.text());
  };

  it("should serve the process and OS gauges", async () => {
    const samples = await scrape();
    expect(total(samples, "process_memory_heap_size_used", { nodeID: broker.nodeID })).toBeGreaterThan(0);
    expect(total(samples, "process_uptime")).toBeGreaterThan(0);
    expect(total(samples, "os_memory_total")).toBeGreaterThan(0);
  });

  it("should count requests per action", async () => {
    const before = total(await scrape(), "moleculer_request_total", { action: "products.list" });
    expect((await http("GET", "/api/products?page=7")).status).toBe(200);
    const after = total(await scrape(), "moleculer_request_total", { action: "products.list" });
    expect(after).toBe(before + 1);
  });

  it("should leave the latency histograms, a few µs per call, to METRICS=1", async () => {
    expect((await scrape()).some((s) => s.name.startsWith("moleculer_request_time"))).toBe(false);
  });

  it("should count the welcome email of a signup in the business counters", async () => {
    const res = await http("POST", "/api/user/signup", {
      email: `fresh-${Date.now()}@shop.test`,
      password: "buyer-password",
      name: "Fresh",
    });
    expect(res.status).toBe(201);
    let samples = await scrape();
    for (let i = 0; i < 100 && !total(samples, "notifications_deliveries_total"); i++) {
      await sleep(50);
      samples = await scrape();
    }
    expect(total(samples, "notifications_deliveries_total", { channel: "email" })).toBe(1);
  });
});

describe("GET /metrics with METRICS_TOKEN set", () => {
  let broker: ServiceBroker;
  let base: string;

  beforeAll(async () => {
    [broker, base] = await boot({ METRICS_TOKEN: TOKEN });
  }, 120_000);
  afterAll(() => broker?.stop());

  const scrape = (authorization?: string) =>
    fetch(`${base}/metrics`, { headers: authorization ? { authorization } : {} });

  it("should answer 401 without a token", async () => {
    const res = await scrape();
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe("Bearer");
    expect(await res.json()).toMatchObject({ code: 401, type: "NO_TOKEN" });
  });

  it("should answer 401 with a wrong token, also one that only starts like the right one", async () => {
    for (const wrong of [
      "Bearer nope",
      `Bearer ${TOKEN}x`,
      `Bearer ${TOKEN.slice(0, -1)}`,
      `Basic ${TOKEN}`,
    ]) {
      const res = await scrape(wrong);
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ code: 401, type: "INVALID_TOKEN" });
    }
  });

  it("should serve the metrics to a bearer of the token", async () => {
    const res = await scrape(`Bearer ${TOKEN}`);
    expect(res.status).toBe(200);
    expect(total(parse(await res.text()), "process_uptime")).toBeGreaterThan(0);
  });
});
