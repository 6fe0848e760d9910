/**
 * CPU the Kafka bridge costs per record at a steady, checkout-like rate (not a drain): events are
 * published into JetStream at BENCH_RATE per second for BENCH_SECONDS while one bridge node
 * forwards them; the CPU of the bridge, nats-server and Kafka's JVM over that window, per record.
 *   npm run infra:up && npm run bench:bridge-cost
 * BENCH_LINGERS (5,50): the KAFKA_LINGER_MS of each round; BENCH_RATE (200), BENCH_SECONDS (10);
 * BENCH_EVENTS (order.placed,order.paid): the streams the records alternate between, as a
 * checkout's two records per order do (until 2026-11-28 it was order.placed alone);
 * BENCH_NODE_ARGS: node flags for the bridge process (e.g. --cpu-prof --cpu-prof-dir=DIR).
 */
import fs from "node:fs";
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import path from "node:path";
import { ServiceBroker } from "moleculer";
import type { EventEnvelope, EventName } from "../contracts";
import { loadConfig } from "../lib/config";
import { publish } from "../lib/channels";
import { brokerOptions } from "../moleculer.config";
import { children, cpuUs, kill, orderPlaced, runBench, sleep } from "./support";

const RATE = Number(process.env.BENCH_RATE ?? 200);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const LINGERS = (process.env.BENCH_LINGERS ?? "5,50").split(",");
const EVENTS = (process.env.BENCH_EVENTS ?? "order.placed,order.paid").split(",") as EventName[];
const NODE_ARGS = (process.env.BENCH_NODE_ARGS ?? "").split(" ").filter(Boolean);
const ns = `bcost${randomUUID().slice(0, 6)}`;
/** The pid of a service started by `npm run infra:up` (scripts/infra keeps them under INFRA_STATE). */
const infraPid = (s: string) =>
  Number(fs.readFileSync(`${process.env.INFRA_STATE ?? "/tmp/shop-infra"}/pids/${s}.pid`, "utf8").trim());

async function round(broker: ServiceBroker, linger: string): Promise<Record<string, number>> {
  const child: ChildProcess = spawn(
    process.execPath,
    [...NODE_ARGS, path.join(__dirname, "..", "bin", "node.js")],
    {
      env: {
        ...process.env,
        SERVICES: "kafka-bridge",
        NAMESPACE: ns,
        LOG_LEVEL: "warn",
        KAFKA_LINGER_MS: linger,
      },
      stdio: "inherit",
    },
  );
  children.push(child);
  await broker.waitForServices(["kafka-bridge"], 30_000);
  while (!((await broker.call("kafka-bridge.status")) as any).connected) await sleep(200);
  const start0: any = await broker.call("kafka-bridge.status");
  const pids = { bridge: child.pid!, nats: infraPid("nats"), kafka: infraPid("kafka") };
  const before = Object.fromEntries(Object.entries(pids).map(([k, p]) => [k, cpuUs(p)]));
  const n = RATE * SECONDS;
  const t0 = Date.now();
  for (let i = 0; i < n; i++) {
    const due = t0 + (i * 1000) / RATE;
    if (due > Date.now()) await sleep(due - Date.now());
    const event = EVENTS[i % EVENTS.length];
    publish(broker, event, { ...orderPlaced(i), type: event } as EventEnvelope).catch((err) =>
      console.error("publish failed:", err),
    );
  }
  for (;;) {
    const s: any = await broker.call("kafka-bridge.status");
    if (s.produced - start0.produced >= n) break;
    await sleep(50);
  }
  const out: Record<string, number> = {};
  for (const [k, p] of Object.entries(pids)) out[k] = (cpuUs(p) - before[k]) / n;
  await kill([child]);
  return out;
}

void runBench("bridge-cost", 300_000, async () => {
  const cfg = loadConfig({ ...process.env, NAMESPACE: ns, NODE_ID: `${ns}-bench`, LOG_LEVEL: "warn" } as any);
  const broker = new ServiceBroker({ ...brokerOptions(cfg), logger: false });
  await broker.start();
  try {
    for (const linger of LINGERS) {
      const r = await round(broker, linger);
      console.log(
        `linger ${linger} ms, ${RATE} records/s over ${EVENTS.join(" + ")}: CPU µs per record: bridge ${r.bridge.toFixed(0)}, nats ${r.nats.toFixed(0)}, kafka ${r.kafka.toFixed(0)}`,
      );
    }
  } finally {
    await broker.stop();
  }
});
