/**
 * Reserve micro-benchmark, in-process, bounded (about BENCH_ROUNDS x BENCH_RESERVE_MS):
 *
 *   npx tsc -p tsconfig.build.json && node dist/bench/reserve.js
 *
 * The inventory service alone on the embedded store (NeDB in a temp dir): closed-loop checkouts
 * of BENCH_RESERVE_LINES lines each over BENCH_PRODUCTS products, each checkout one
 * inventory.reserve then one inventory.commit (a checkout's inventory calls), at
 * BENCH_RESERVE_CONCURRENCY in flight. Prints checkouts/s per round and the median.
 */
import { performance } from "node:perf_hooks";
import { ServiceBroker } from "moleculer";
import { reloadConfig } from "../lib/config";
import { brokerOptions } from "../moleculer.config";
import { tmpDir } from "./support";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const RESERVE_MS = Number(process.env.BENCH_RESERVE_MS ?? 3000);
const CONCURRENCY = Number(process.env.BENCH_RESERVE_CONCURRENCY ?? 16);
const PRODUCTS = Number(process.env.BENCH_PRODUCTS ?? 500);
const LINES = Number(process.env.BENCH_RESERVE_LINES ?? 2);

async function round(broker: ServiceBroker, label: string): Promise<number> {
  let done = 0;
  const end = performance.now() + RESERVE_MS;
  const start = performance.now();
  const worker = async (w: number) => {
    for (let i = 0; performance.now() < end; i++) {
      const orderId = `${label}-${w}-${i}`;
      const first = Math.floor(Math.random() * PRODUCTS);
      const lines = Array.from({ length: LINES }, (_, k) => ({
        productId: `p-${(first + k) % PRODUCTS}`,
        quantity: 1,
      }));
      await broker.call("inventory.reserve", { orderId, lines });
      await broker.call("inventory.commit", { orderId });
      done++;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, (_, w) => worker(w)));
  return (done / (performance.now() - start)) * 1000;
}

async function main() {
  process.env.DATA_DIR = tmpDir("bench-reserve-");
  process.env.LOG_LEVEL = "warn";
  const broker = new ServiceBroker({ ...brokerOptions(reloadConfig()), logger: false });
  broker.createService(require("../services/inventory.service").default);
  await broker.start();
  try {
    for (let i = 0; i < PRODUCTS; i++)
      await broker.call("inventory.init", { productId: `p-${i}`, available: 1e7 });
    await round(broker, "warm");
    const rates: number[] = [];
    for (let r = 0; r < ROUNDS; r++) rates.push(await round(broker, `r${r}`));
    const median = [...rates].sort((a, b) => a - b)[Math.floor(rates.length / 2)];
    console.log(
      `checkouts/s (reserve ${LINES} lines + commit, concurrency ${CONCURRENCY}): ` +
        `${rates.map((x) => x.toFixed(0)).join(", ")}; median ${median.toFixed(0)}`,
    );
  } finally {
    await broker.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
