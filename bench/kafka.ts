/**
 * Kafka bridge throughput vs a raw kafkajs producer with the same batching and acks, in one run.
 *   npm run build && node --env-file=.infra.env dist/bench/kafka.js [records]
 * Needs `npm run infra:up` (NATS with JetStream, Kafka). Starts one bridge node process in its own
 * namespace, fills its JetStream backlog while it is stopped, then times the drain into Kafka.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import path from "node:path";
import { Kafka, logLevel } from "../lib/kafka";
import { ServiceBroker } from "moleculer";
import { loadConfig } from "../lib/config";
import { orderPlaced, sleep } from "./support";
import { publish } from "../lib/channels";
import { KafkaBatcher } from "../lib/kafka-batcher";
import { brokerOptions } from "../moleculer.config";

const N = Number(process.argv[2] ?? 20_000);
// The project's settings (KAFKA_BATCH_SIZE, KAFKA_LINGER_MS) for both the raw producer and the bridge.
const { batchSize: BATCH, lingerMs: LINGER } = loadConfig(process.env).kafka;
const ROUNDS = 3;
const ns = `bench${randomUUID().slice(0, 6)}`;
const children: ChildProcess[] = [];

/** The same client, batching and acks as the bridge, fed as fast as it takes records. */
async function rawProducer(brokers: string[]): Promise<number> {
  const kafka = new Kafka({ clientId: "bench-raw", brokers, logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const batcher = new KafkaBatcher(producer, BATCH, LINGER);
  const started = process.hrtime.bigint();
  const pending: Promise<void>[] = [];
  for (let i = 0; i < N; i++) {
    const e = orderPlaced(i);
    const { key, ...value } = e;
    pending.push(
      batcher.send("order_placed", {
        key,
        value: JSON.stringify(value),
        headers: { "event-id": e.eventId, "event-type": e.type, "event-version": "1" },
      }),
    );
    // The bridge holds at most BATCH messages in flight per channel; so does this loop.
    if (pending.length >= BATCH) await Promise.all(pending.splice(0));
  }
  await Promise.all(pending);
  const secs = Number(process.hrtime.bigint() - started) / 1e9;
  await producer.disconnect();
  return N / secs;
}

function startBridge(env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, [path.join(__dirname, "..", "bin", "node.js")], {
    env: {
      ...process.env,
      ...env,
      SERVICES: "kafka-bridge",
      NAMESPACE: ns,
      LOG_LEVEL: "warn",
      NODE_ID: `${ns}-bridge`,
    },
    stdio: "inherit",
  });
  children.push(child);
  return child;
}

async function bridge(env: Record<string, string>): Promise<number> {
  const cfg = loadConfig({ ...env, NAMESPACE: ns, NODE_ID: `${ns}-bench`, LOG_LEVEL: "warn" });
  const broker = new ServiceBroker({ ...brokerOptions(cfg), logger: false });
  await broker.start();
  try {
    // First start creates the bridge's durable consumers; then the backlog builds while it is down.
    let child = startBridge(env);
    await broker.waitForServices(["kafka-bridge"], 30_000);
    while (!((await broker.call("kafka-bridge.status")) as any).connected) await sleep(200);
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
    for (let i = 0; i < N; i += 500)
      await Promise.all(
        Array.from({ length: Math.min(500, N - i) }, (_, j) =>
          publish(broker, "order.placed", orderPlaced(i + j)),
        ),
      );
    child = startBridge(env);
    await broker.waitForServices(["kafka-bridge"], 30_000);
    let s: any;
    while ((s = (await broker.call("kafka-bridge.status")) as any).produced < N) await sleep(50);
    // From the bridge's first record to its last: the drain, without the node's start-up (the
    // bridge may start draining before this broker has even discovered it).
    const secs = (s.lastProducedAt - s.firstProducedAt) / 1e3;
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
    return N / secs;
  } finally {
    await broker.stop();
  }
}

async function main() {
  const env = Object.fromEntries(
    ["TRANSPORTER", "KAFKA_BROKERS"].map((k) => {
      if (!process.env[k])
        throw new Error(`${k} is not set: run \`npm run infra:up\` and pass --env-file=.infra.env`);
      return [k, process.env[k]!];
    }),
  );
  // Alternating rounds, so both sides see the same background load on this shared machine.
  const raw: number[] = [];
  const viaBridge: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    raw.push(await rawProducer(env.KAFKA_BROKERS.split(",")));
    viaBridge.push(await bridge(env));
    console.log(
      `round ${round + 1}: raw ${raw[round].toFixed(0)} records/s, bridge ${viaBridge[round].toFixed(0)} records/s`,
    );
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(`records per round: ${N}, batch ${BATCH}, linger ${LINGER} ms, acks all, idempotent producer`);
  console.log(`raw kafkajs producer (median): ${median(raw).toFixed(0)} records/s`);
  console.log(`bridge JetStream -> Kafka (median): ${median(viaBridge).toFixed(0)} records/s`);
  console.log(`ratio bridge/raw: ${(median(viaBridge) / median(raw)).toFixed(2)} (target >= 0.85)`);
}

const deadline = setTimeout(() => {
  console.error("bench/kafka: gave up after 5 minutes");
  process.exit(1);
}, 300_000);
main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => {
    clearTimeout(deadline);
    for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
  });
