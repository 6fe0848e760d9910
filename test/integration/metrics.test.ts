/**
 * GET /metrics on an embedded node: Prometheus text with Moleculer's request metrics per action
 * and the business counters (orders by status, declined payments, notification deliveries),
 * which move as orders are placed. With METRICS unset the route still answers, with a comment.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { ServiceBroker } from "moleculer";
import type { startNode } from "../../bin/node";
import { freePort } from "../support/cluster";
import { ADDRESS, DECLINED, VISA, sleep } from "../support/fixtures";
import { jsonClient } from "../support/http";

const ADMIN = { email: "metrics-admin@shop.test", password: "metrics-admin-pw" };

/** A whole node in this process, with its own config and modules; returns it and its base URL. */
async function boot(env: Record<string, string | undefined>): Promise<[ServiceBroker, string]> {
  const saved = { ...process.env };
  delete process.env.METRICS;
  Object.assign(process.env, {
    PORT: String(await freePort()),
    DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), "metrics-int-")),
    RATE_LIMIT_PER_MINUTE: "1000000",
    AUTH_RATE_LIMIT_PER_MINUTE: "100000",
    ...env,
  });
  const base = `http://127.0.0.1:${process.env.PORT}`;
  let starting!: ReturnType<typeof startNode>;
  jest.isolateModules(() => (starting = require("../../bin/node").startNode()));
  try {
    return [await starting, base];
  } finally {
    process.env = saved;
  }
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

describe("GET /metrics with METRICS unset", () => {
  let broker: ServiceBroker;
  let base: string;

  beforeAll(async () => {
    [broker, base] = await boot({});
  }, 120_000);
  afterAll(() => broker?.stop());

  it("should answer 200 with a comment saying metrics are disabled", async () => {
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(text).toMatch(/^# Metrics are disabled.*METRICS=1/);
    expect(parse(text)).toEqual([]);
  });
});
