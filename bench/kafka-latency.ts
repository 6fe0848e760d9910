/**
 * End-to-end latency from `POST /api/orders` to its `order_placed` record being consumed from Kafka.
 *   npm run build && node --env-file=.infra.env dist/bench/kafka-latency.js [orders] [perSecond]
 * Needs `npm run infra:up` (NATS with JetStream, Kafka, the MongoDB API). Starts a small cluster of
 * node processes in its own namespace and database (gateway; kafka-bridge; every other service),
 * places orders at a steady rate from one customer pool, and consumes `order_placed` with a kafkajs
 * consumer in this process. Latency = record consumed - request sent (so it includes the checkout
 * itself: the record can only exist once the order's reservation is written).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Kafka, logLevel } from "../lib/kafka";
import { ALL_SERVICES } from "../lib/config";
import { freePort, sleep } from "./support";

const ORDERS = Number(process.argv[2] ?? 300);
const RATE = Number(process.argv[3] ?? 20);
const WARMUP = 20;
const BUYERS = 10;
const ROOT = path.resolve(__dirname, "..", "..");
const ns = `benchkl${randomUUID().slice(0, 6)}`;
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-kl-"));
const ADMIN = { email: "kafka-latency@shop.test", password: "kafka-latency-password" };
const ADDRESS = { name: "Lat", line1: "1 Bench Rd", city: "Metro", postalCode: "10001", country: "US" };
const children: ChildProcess[] = [];
const now = () => Number(process.hrtime.bigint()) / 1e6;

function need(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run with --env-file=.infra.env after \`npm run infra:up\``);
  return v;
}

function startNode(name: string, services: string[], port: number): void {
  const child = spawn(process.execPath, [path.join(ROOT, "dist", "bin", "node.js")], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      TRANSPORTER: need("TRANSPORTER"),
      MONGO_URI: need("MONGO_URI").replace(/\/[^/]*$/, `/${ns}`),
      KAFKA_BROKERS: need("KAFKA_BROKERS"),
      ...(process.env.SMTP_URL ? { SMTP_URL: process.env.SMTP_URL } : {}),
      ...(process.env.KAFKA_LINGER_MS ? { KAFKA_LINGER_MS: process.env.KAFKA_LINGER_MS } : {}),
      ...(process.env.KAFKA_BATCH_SIZE ? { KAFKA_BATCH_SIZE: process.env.KAFKA_BATCH_SIZE } : {}),
      NAMESPACE: ns,
      NODE_ENV: "test",
      LOG_LEVEL: "warn",
      DATA_DIR: dataDir,
      PORT: String(port),
      SERVICES: services.join(","),
      NODE_ID: `${ns}-${name}`,
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
      RATE_LIMIT_PER_MINUTE: "10000000",
      AUTH_RATE_LIMIT_PER_MINUTE: "10000000",
      ACCESS_TOKEN_TTL: "3600",
    },
    stdio: ["ignore", "inherit", "inherit"],
  });
  children.push(child);
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function summary(values: number[]): string {
  const s = [...values].sort((a, b) => a - b);
  const mean = s.reduce((n, v) => n + v, 0) / s.length;
  const f = (v: number) => v.toFixed(1);
  return `p50 ${f(pct(s, 50))} ms, p90 ${f(pct(s, 90))} ms, p99 ${f(pct(s, 99))} ms, max ${f(s[s.length - 1])} ms, mean ${f(mean)} ms`;
}

async function main(): Promise<void> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const http = async (method: string, url: string, body?: unknown, token?: string) => {
    const res = await fetch(base + url, {
      method,
      headers: {
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };

  startNode("gateway", ["api"], port);
  startNode("bridge", ["kafka-bridge"], port);
  startNode(
    "rest",
    ALL_SERVICES.filter((s) => s !== "api" && s !== "kafka-bridge"),
    port,
  );
  const deadline = Date.now() + 120_000;
  for (;;) {
    const ready = await http("GET", "/health/ready").catch(() => undefined);
    if (ready?.status === 200 && ready.body?.checks?.kafka === "up") break;
    if (Date.now() > deadline) throw new Error(`cluster not ready: ${JSON.stringify(ready?.body)}`);
    await sleep(500);
  }

  // The consumer joins before the first order, reading from the end of the topic.
  const kafka = new Kafka({
    clientId: `${ns}-consumer`,
    brokers: need("KAFKA_BROKERS").split(","),
    logLevel: logLevel.NOTHING,
  });
  const consumer = kafka.consumer({ groupId: `${ns}-latency`, maxWaitTimeInMs: 100 });
  const consumedAt = new Map<string, number>();
  await consumer.connect();
  await consumer.subscribe({ topic: "order_placed", fromBeginning: false });
  const joined = new Promise<void>((r) => consumer.on(consumer.events.GROUP_JOIN, () => r()));
  await consumer.run({
    eachMessage: async ({ message }) => {
      const t = now();
      try {
        const id = JSON.parse(message.value?.toString() ?? "").data?.orderId;
        if (typeof id === "string" && !consumedAt.has(id)) consumedAt.set(id, t);
      } catch {
        /* not ours */
      }
    },
  });
  await joined;

  const login = await http("POST", "/api/user/login", ADMIN);
  if (login.status !== 200) throw new Error(`admin login: ${login.status}`);
  const product = await http(
    "POST",
    "/api/products",
    { name: `Latency ${ns}`, price: 1000, stock: ORDERS + WARMUP + 10 },
    login.body.accessToken,
  );
  if (product.status !== 201) throw new Error(`product: ${product.status}`);
  const buyers: string[] = [];
  for (let i = 0; i < BUYERS; i++) {
    const res = await http("POST", "/api/user/signup", {
      email: `lat-${i}-${ns}@shop.test`,
      password: "buyer-password",
      name: `Buyer ${i}`,
    });
    if (res.status !== 201) throw new Error(`signup: ${res.status}`);
    buyers.push(res.body.accessToken);
  }
  const body = {
    items: [{ productId: product.body.id, quantity: 1 }],
    payment: { method: "card", token: "tok_visa" },
    shippingAddress: ADDRESS,
  };

  // Open loop at a steady rate: order i is sent at start + i / RATE, whether or not earlier ones answered.
  const sent: { orderId?: string; sentAt: number; httpMs?: number; status?: number }[] = [];
  const total = WARMUP + ORDERS;
  const start = now();
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / RATE;
    const wait = due - now();
    if (wait > 0) await sleep(wait);
    const entry: (typeof sent)[number] = { sentAt: now() };
    sent.push(entry);
    inflight.push(
      http("POST", "/api/orders", body, buyers[i % BUYERS]).then(
        (res) => {
          entry.status = res.status;
          entry.httpMs = now() - entry.sentAt;
          if (res.status === 201) entry.orderId = res.body.id;
        },
        () => void (entry.status = 0),
      ),
    );
  }
  await Promise.all(inflight);
  const placed = sent.filter((e) => e.orderId);
  const waitUntil = Date.now() + 60_000;
  while (placed.some((e) => !consumedAt.has(e.orderId!)) && Date.now() < waitUntil) await sleep(100);
  const sendSecs = (now() - start) / 1000;

  const measured = sent.slice(WARMUP);
  const failed = measured.filter((e) => e.status !== 201).length;
  const missing = measured.filter((e) => e.orderId && !consumedAt.has(e.orderId)).length;
  const e2e = measured
    .filter((e) => e.orderId && consumedAt.has(e.orderId))
    .map((e) => consumedAt.get(e.orderId!)! - e.sentAt);
  const httpMs = measured.filter((e) => e.status === 201).map((e) => e.httpMs!);
  console.log(
    `kafka-latency: ${ORDERS} orders (+${WARMUP} warm-up) at ${RATE}/s over ${sendSecs.toFixed(1)} s, ` +
      `KAFKA_LINGER_MS=${process.env.KAFKA_LINGER_MS ?? 50}, KAFKA_BATCH_SIZE=${process.env.KAFKA_BATCH_SIZE ?? 100}; ` +
      `${failed} not 201, ${missing} records not consumed within 60 s`,
  );
  console.log(`  POST /api/orders -> order_placed consumed: ${summary(e2e)}`);
  console.log(`  POST /api/orders -> 201 (for reference):     ${summary(httpMs)}`);
  await consumer.disconnect();
  if (failed || missing) process.exitCode = 1;
}

main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(async () => {
    for (const c of children) c.kill("SIGTERM");
    await sleep(1000);
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
