/**
 * Checkout benchmark, on 127.0.0.1 only, bounded (about 14 minutes; gives up after 20):
 *
 *   npm run bench:checkout        (builds, then node dist/bench/checkout.js)
 *
 * Closed-loop POST /api/orders (1 unit, tok_visa, no Idempotency-Key) from BENCH_CONCURRENCY
 * clients in this process, each signed in as its own user; orders/s, p50, p99 and the CPU of
 * the node processes per order:
 *   E  embedded: one process runs api, users, tokens, products, carts, inventory, orders, payments;
 *   C  clustered: the same services on six processes (gateway | users+tokens | products+carts |
 *      inventory | payments | orders) over a nats-server of its own (JetStream on);
 *   each with every order on one hot product vs spread over 1,000 products (target: hot / spread
 *      >= 0.5), interleaved rounds, ratios from the medians;
 *   K  clustered, spread, with vs without a kafka-bridge node publishing every order event to the
 *      Kafka broker on 127.0.0.1:9092 (BENCH_KAFKA_BROKERS; skipped when unreachable); one bridge
 *      process, frozen (SIGSTOP) for the rounds without it and, when let go again, draining its
 *      backlog before the round (target: with / without >= 0.9);
 *   P  embedded, spread, every order in a region (19 % tax, a shipping option) with a 10 %
 *      promotion code whose use the saga counts, vs plain orders (no region), interleaved rounds in
 *      the same run (target: priced / plain >= 0.8, orders/s and CPU per order).
 *   R  (bench/checkout-risk.ts) embedded, spread, what risk scoring costs per order (target:
 *      direct <= 1.05), in one node switched between rounds (bench/risk-toggle-preload.ts): three
 *      comparisons of BENCH_R_PAIRS (60) ABBA pairs of BENCH_R_SECONDS (1) s rounds each, the
 *      median of the pairs' CPU per order with / without taken:
 *        direct   as shipped vs the risk step stubbed out (rounds spread by ~10 %, so this median
 *                 moves by ±3 % between runs);
 *        compute  scored BENCH_R_TIMES (10) more times per order vs once: one scoring's work,
 *                 tenfold (the extra scorings are of other customers' earlier orders, spread
 *                 among the other orders' work);
 *        store    unscored, 10 copies of the fields scoring stores vs none: keeping its result;
 *      the last two read as (median - 1) / 10. The orders come from BENCH_R_USERS (3,000)
 *      customers, ~40 orders each in the phase (their tokens carry their signup times, so no
 *      order asks users for one). BENCH_R_PARTS (direct,compute,store) picks comparisons;
 *      `inline` (as shipped vs unscored, scoring's fields stored and the same scoring run apart)
 *      is one more on request.
 *      BENCH_R_SAME=1 scores on both sides of the direct one (A/A: the spread between rounds).
 *      BENCH_R_PROFILE_DIR=<dir>: the direct comparison only, a CPU profile of each round there,
 *      and the share of the scored rounds' main-thread time spent in the risk step's own code
 *      (bench/profile-share.ts).
 *      BENCH_R_NODES=2: the direct comparison on two nodes instead, one started with scoring off;
 *      with it, BENCH_R_SAME scores on both and BENCH_R_ON_OPTIONS sets the scored node's
 *      NODE_OPTIONS (e.g. a --require of bench/nedb-own-deletes-preload.js: NeDB's own bucket
 *      removal vs ours).
 * After each phase: orders counted by the API (admin) against units sold in the catalogue.
 *
 * Every node is a real `dist/bin/node.js` process on the embedded default store (NeDB files):
 * catalogue and stock are seeded once by a child of this file and copied into each node's
 * DATA_DIR. Everything started is killed by pid at the end, also on error or SIGINT/SIGTERM.
 *
 * Environment: BENCH_SECONDS (5), BENCH_ROUNDS (3), BENCH_K_ROUNDS (6: K's pairs of rounds, each
 * pair's ratio taken and the median of those reported), BENCH_CONCURRENCY (16), BENCH_ONLY (e,c,k,p,r),
 * BENCH_NODE_OPTIONS (added to every node's NODE_OPTIONS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"),
 * BENCH_KAFKA_LINGER_MS (the bridge's KAFKA_LINGER_MS; default: the project's), BENCH_BRIDGE_NICE
 * (niceness of the bridge process, default 0), BENCH_VERBOSE=1 (CPU per order of each process).
 */
import { spawn, type ChildProcess } from "node:child_process";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { ServiceBroker } from "moleculer";
import { loadService } from "../bin/node";
import { R_USERS, riskRounds } from "./checkout-risk";
import { loadConfig, reloadConfig } from "../lib/config";
import { brokerOptions } from "../moleculer.config";
import {
  alive,
  children,
  cpuUs,
  freePort,
  kill,
  reachable,
  runBench,
  sleep,
  startNats,
  tmpDir,
} from "./support";

export const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
/**
 * K compares two variants whose difference (~5-10 %) is no bigger than what orders/s drifts by
 * from one 5 s round to the next on this shared machine: more rounds, each with/without pair
 * compared on its own (the two run back to back), and the median of those ratios.
 */
const K_ROUNDS = Number(process.env.BENCH_K_ROUNDS ?? 6);
export const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const ONLY = new Set((process.env.BENCH_ONLY ?? "e,c,k,p,r").split(",").map((s) => s.trim()));
const KAFKA = process.env.BENCH_KAFKA_BROKERS ?? "127.0.0.1:9092";
/** BENCH_BRIDGE_NICE=19 runs the bridge at low CPU priority: it catches up when checkout idles. */
const BRIDGE_NICE = Number(process.env.BENCH_BRIDGE_NICE ?? 0);
const SPREAD = 1000;
export const STOCK = 10_000_000;
const DEADLINE_MS = 1_200_000;
export const ADMIN = { email: "bench-admin@shop.test", password: "bench-admin-password" };
const ADDRESS = { name: "Bench", line1: "1 Loop St", city: "Localhost", postalCode: "127", country: "US" };
const NODE_JS = path.join(__dirname, "..", "bin", "node.js");
export const CHECKOUT = [
  "api",
  "users",
  "tokens",
  "products",
  "carts",
  "inventory",
  "orders",
  "payments",
  "pricing",
];
const CLUSTER: Record<string, string[]> = {
  gateway: ["api"],
  identity: ["users", "tokens"],
  catalog: ["products", "carts"],
  inventory: ["inventory"],
  payments: ["payments"],
  orders: ["orders", "pricing"],
};
const productId = (i: number) => `bench-${String(i).padStart(4, "0")}`;
const HOT = "bench-hot";

// ---------------------------------------------------------------- seeding (child process)

async function seed() {
  reloadConfig(process.env);
  const broker = new ServiceBroker({ ...brokerOptions(loadConfig(process.env)), logger: false });
  for (const name of ["products", "inventory"]) broker.createService(loadService(name));
  await broker.start();
  const products: any = broker.getLocalService("products");
  const inventory: any = broker.getLocalService("inventory");
  const at = new Date().toISOString();
  const ids = [HOT, ...Array.from({ length: SPREAD }, (_, i) => productId(i))];
  await products.adapter.insertMany(
    ids.map((id, i) => ({
      _id: id,
      sku: `BENCH-${i}`,
      name: `Bench product ${i}`,
      description: "",
      price: 100 + ((i * 7919) % 50_000),
      currency: "USD",
      category: "bench",
      images: [],
      active: true,
      deleted: false,
      version: 1,
      createdAt: at,
      updatedAt: at,
    })),
  );
  await inventory.adapter.insertMany(
    ids.map((id) => ({
      _id: id,
      kind: "stock",
      productId: id,
      available: STOCK,
      reserved: 0,
      deleted: false,
    })),
  );
  await broker.stop();
  process.send?.({ seeded: ids.length });
  process.exit(0);
}

// ---------------------------------------------------------------- processes

/**
 * A node's NODE_OPTIONS: `extra`, then BENCH_NODE_OPTIONS. No deprecation warnings: NeDB's adapter
 * trips one per query (noise, not signal).
 */
export const nodeOptions = (extra: string) => ({
  NODE_OPTIONS: `--no-deprecation ${extra} ${process.env.BENCH_NODE_OPTIONS ?? ""}`.trim(),
});

/** A real node (dist/bin/node.js) running `services`. */
export function startNode(
  name: string,
  services: string[],
  env: Record<string, string>,
  nice = 0,
  /** An IPC channel to the node (phase R's scoring switch). */
  ipc = false,
): ChildProcess {
  // BENCH_PROFILE=<node names, comma-separated>: each writes a V8 CPU profile into the current directory as it stops.
  const profiled = (process.env.BENCH_PROFILE ?? "").split(",").includes(name);
  const node = [...(profiled ? ["--cpu-prof", `--cpu-prof-name=${name}.cpuprofile`] : []), NODE_JS];
  const [cmd, args] = nice
    ? ["nice", ["-n", String(nice), process.execPath, ...node]]
    : [process.execPath, node];
  const child = spawn(cmd, args, {
    env: {
      PATH: process.env.PATH ?? "",
      NODE_ENV: "development",
      LOG_LEVEL: "warn",
      ...nodeOptions(""),
      RATE_LIMIT_PER_MINUTE: "10000000",
      AUTH_RATE_LIMIT_PER_MINUTE: "10000000",
      ACCESS_TOKEN_TTL: "3600",
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
      NODE_ID: `bench-${name}-${process.pid}`,
      SERVICES: services.join(","),
      ...env,
    },
    stdio: ["ignore", "inherit", "inherit", ...(ipc ? ["ipc" as const] : [])],
  });
  children.push(child);
  names.set(child.pid!, name);
  return child;
}

/** Ready but for routed services the bench leaves out on purpose (notifications: not checkout). */
export async function waitReady(base: string, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const res = await fetch(`${base}/health/ready`).catch(() => null);
    const body: any = await res?.json().catch(() => null);
    const missing: string[] = body?.checks?.services?.missing ?? [];
    const onlyLeftOut = body?.failing?.join() === "services" && missing.every((s) => !CHECKOUT.includes(s));
    if (res?.status === 200 || onlyLeftOut) return;
    await sleep(250);
  }
  throw new Error(`${base} was not ready after ${timeoutMs} ms`);
}
const nodesCpu = () => children.filter(alive).reduce((sum, c) => sum + cpuUs(c.pid!), 0);
const names = new Map<number, string>();
const perNode = () => new Map(children.filter(alive).map((c) => [c.pid!, cpuUs(c.pid!)]));

// ---------------------------------------------------------------- load

export async function api(base: string, method: string, url: string, body?: unknown, token?: string) {
  const res = await fetch(base + url, {
    method,
    headers: {
      "content-type": "application/json",
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json().catch(() => null)) as any };
}

/** `n` new customers' access tokens; four signups at a time (each hashes a password, on purpose slowly). */
export async function signUsers(base: string, n: number): Promise<string[]> {
  const tokens: string[] = new Array(n);
  let next = 0;
  const signer = async () => {
    for (let i = next++; i < n; i = next++) {
      const res = await api(base, "POST", "/api/user/signup", {
        email: `bench-${process.pid}-${Date.now()}-${i}@shop.test`,
        password: "bench-password",
        name: `Bench ${i}`,
      });
      if (res.status !== 201) throw new Error(`signup answered ${res.status} ${JSON.stringify(res.body)}`);
      tokens[i] = res.body.accessToken;
    }
  };
  await Promise.all(Array.from({ length: Math.min(4, n) }, signer));
  return tokens;
}

export interface Row {
  name: string;
  rps: number;
  p50: number;
  p99: number;
  orders: number;
  errors: number;
  cpuUs: number;
}

export function printHeader() {
  console.log(`| ${"scenario".padEnd(44)} | orders/s |  p50 ms |  p99 ms | orders | errors | CPU µs/ord |`);
  console.log(`|${"-".repeat(46)}|---------:|--------:|--------:|-------:|-------:|-----------:|`);
}

function print(row: Row) {
  const n = (v: number, d = 1) => (Number.isFinite(v) ? v.toFixed(d) : "-");
  console.log(
    `| ${row.name.padEnd(44)} | ${n(row.rps, 0).padStart(8)} | ${n(row.p50).padStart(7)} | ${n(row.p99).padStart(7)} | ` +
      `${String(row.orders).padStart(6)} | ${String(row.errors).padStart(6)} | ${n(row.cpuUs, 0).padStart(10)} |`,
  );
}

const line = (picked: string | Record<string, string>) =>
  typeof picked === "string" ? { productId: picked } : picked;

/** Whose turn it is next, per list of customers' tokens. */
const turns = new WeakMap<string[], number>();

/** Closed loop: each client places its next order as soon as the previous one answered. */
export async function load(
  name: string,
  base: string,
  tokens: string[],
  /** A product id, or a whole line (`{productId, variantId}`). */
  pick: () => string | Record<string, string>,
  seconds: number,
  extra: Record<string, unknown> = {},
) {
  const latencies: number[] = [];
  let errors = 0;
  let firstError = "";
  const cpu0 = nodesCpu();
  const each0 = perNode();
  const start = performance.now();
  const end = start + seconds * 1000;
  // The customers take turns across the clients and the rounds: all of them place orders, not
  // the first few hundred again each round.
  let turn = turns.get(tokens) ?? 0;
  const client = async () => {
    while (performance.now() < end) {
      const t0 = performance.now();
      const body = {
        items: [{ ...line(pick()), quantity: 1 }],
        payment: { method: "card", token: "tok_visa" },
        shippingAddress: ADDRESS,
        ...extra,
      };
      const res = await api(base, "POST", "/api/orders", body, tokens[turn++ % tokens.length]).catch(
        (err) => ({
          status: 0,
          body: String(err),
        }),
      );
      if (res.status === 201) latencies.push(performance.now() - t0);
      else if (!errors++) firstError = `${res.status} ${JSON.stringify(res.body).slice(0, 200)}`;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, client));
  turns.set(tokens, turn);
  const elapsed = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
  const row = {
    name,
    rps: latencies.length / elapsed,
    p50: q(0.5),
    p99: q(0.99),
    orders: latencies.length,
    errors,
    cpuUs: (nodesCpu() - cpu0) / Math.max(1, latencies.length),
  };
  print(row);
  if (process.env.BENCH_VERBOSE) {
    const parts = [...perNode()].map(
      ([pid, us]) =>
        `${names.get(pid) ?? "nats"} ${((us - (each0.get(pid) ?? 0)) / Math.max(1, row.orders)).toFixed(0)}`,
    );
    console.log(`    CPU µs/order by process: ${parts.join(", ")}`);
  }
  if (firstError) console.log(`    first error: ${firstError}`);
  return row;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}
const hot = () => HOT;
export const spread = () => productId(Math.floor(Math.random() * SPREAD));

/** Units gone from a category's products, each of which started with `start` available. */
export async function unitsSold(base: string, category: string, start: number): Promise<number> {
  let sold = 0;
  for (let page = 1; ; page++) {
    const res = await api(base, "GET", `/api/products?category=${category}&pageSize=100&page=${page}`);
    for (const p of res.body.rows) sold += start - p.available;
    if (page >= res.body.totalPages) break;
  }
  return sold;
}

/**
 * Orders counted by the API against units gone from the catalogue (and `more()` from elsewhere):
 * nothing lost or doubled.
 */
export async function consistency(label: string, base: string, more: () => Promise<number> = async () => 0) {
  const admin = (await api(base, "POST", "/api/user/login", ADMIN)).body.accessToken;
  const orders = (await api(base, "GET", "/api/orders?pageSize=1", undefined, admin)).body.total;
  const sold = (await unitsSold(base, "bench", STOCK)) + (await more());
  console.log(
    `  ${label}: ${orders} orders placed, ${sold} units sold: ${orders === sold ? "consistent" : "MISMATCH"}`,
  );
}

async function hotVsSpread(label: string, base: string, tokens: string[]) {
  await load(`${label} warm-up`, base, tokens, spread, 1);
  const h: Row[] = [];
  const s: Row[] = [];
  for (let r = 1; r <= ROUNDS; r++) {
    h.push(await load(`${label} one hot product #${r}`, base, tokens, hot, SECONDS));
    s.push(await load(`${label} spread over ${SPREAD} #${r}`, base, tokens, spread, SECONDS));
  }
  return {
    rps: median(h.map((x) => x.rps)) / median(s.map((x) => x.rps)),
    cpu: median(s.map((x) => x.cpuUs)) / median(h.map((x) => x.cpuUs)),
  };
}

// ---------------------------------------------------------------- phases

async function embedded(seeded: string) {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const node = startNode("embedded", CHECKOUT, {
    DATA_DIR: tmpDir("bench-co-e-", seeded),
    PORT: String(port),
  });
  await waitReady(base);
  const tokens = await signUsers(base, CONCURRENCY);
  const ratio = await hotVsSpread("E embedded", base, tokens);
  await consistency("E", base);
  await kill([node]);
  return ratio;
}

/** P: plain orders vs orders in a region with a shipping option and a percentage code, same node. */
async function pricedVsPlain(seeded: string) {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const node = startNode("embedded-p", CHECKOUT, {
    DATA_DIR: tmpDir("bench-co-p-", seeded),
    PORT: String(port),
  });
  await waitReady(base);
  const tokens = await signUsers(base, CONCURRENCY);
  const admin = (await api(base, "POST", "/api/user/login", ADMIN)).body.accessToken;
  const region = await api(
    base,
    "POST",
    "/api/regions",
    { name: "Bench", currency: "USD", countries: ["DE"], taxRate: 1900 },
    admin,
  );
  const option = await api(
    base,
    "POST",
    "/api/shipping-options",
    { name: "Std", regionId: region.body.id, amount: 495 },
    admin,
  );
  const code = await api(
    base,
    "POST",
    "/api/promotions",
    { code: "BENCH10", type: "percentage", value: 10 },
    admin,
  );
  if ([region, option, code].some((r) => r.status !== 201))
    throw new Error("P: could not create the pricing rules");
  const priced = {
    shippingAddress: { ...ADDRESS, country: "DE" },
    shippingOptionId: option.body.id,
    promotionCode: "BENCH10",
  };
  await load("P warm-up (both)", base, tokens, spread, 1);
  await load("P warm-up (both)", base, tokens, spread, 1, priced);
  const plain: Row[] = [];
  const withRules: Row[] = [];
  for (let r = 1; r <= ROUNDS; r++) {
    // Alternating which goes first: the store grows with every order placed.
    const a = () => load(`P plain #${r}`, base, tokens, spread, SECONDS).then((x) => plain.push(x));
    const b = () =>
      load(`P region + shipping + 10 % code #${r}`, base, tokens, spread, SECONDS, priced).then((x) =>
        withRules.push(x),
      );
    if (r % 2) await a().then(b);
    else await b().then(a);
  }
  const used = await api(base, "GET", "/api/promotions", undefined, admin);
  console.log(
    `  P: BENCH10 usageCount ${used.body.rows[0].usageCount}, orders with it ${withRules.reduce((n, x) => n + x.orders, 0) + "+warm-up"}`,
  );
  await consistency("P", base);
  await kill([node]);
  return {
    rps: median(withRules.map((x) => x.rps)) / median(plain.map((x) => x.rps)),
    cpu: median(plain.map((x) => x.cpuUs)) / median(withRules.map((x) => x.cpuUs)),
  };
}

async function clustered(seeded: string, withKafka: boolean) {
  const transporter = await startNats();
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const common = { TRANSPORTER: transporter, NAMESPACE: `benchco${process.pid}` };
  const nodes = Object.entries(CLUSTER).map(([name, services]) =>
    startNode(name, services, {
      ...common,
      DATA_DIR: tmpDir(`bench-co-${name}-`, seeded),
      ...(name === "gateway" ? { PORT: String(port) } : {}),
    }),
  );
  await waitReady(base);
  const tokens = await signUsers(base, CONCURRENCY);
  const result: { hotSpread?: { rps: number; cpu: number }; kafka?: { rps: number; cpu: number } } = {};
  if (ONLY.has("c")) {
    result.hotSpread = await hotVsSpread("C clustered", base, tokens);
    await consistency("C", base);
  }
  if (withKafka) result.kafka = await kafkaRounds(base, tokens, common);
  await kill(nodes);
  return result;
}

/** Waits until the bridge's count of records produced stops moving; its last status. */
async function bridgeDrained(obs: ServiceBroker) {
  let last: any = null;
  for (let stable = 0; stable < 4;) {
    const s: any = await obs.call("kafka-bridge.status", {}, { timeout: 3000 }).catch(() => null);
    if (s?.connected && s.produced === last?.produced) stable++;
    else stable = 0;
    last = s;
    await sleep(250);
  }
  return last;
}

async function kafkaRounds(base: string, tokens: string[], common: Record<string, string>) {
  const obs = new ServiceBroker({
    namespace: common.NAMESPACE,
    nodeID: `bench-obs-${process.pid}`,
    transporter: common.TRANSPORTER as any,
    logger: false,
    heartbeatInterval: 2,
    heartbeatTimeout: 6,
  });
  await obs.start();
  const linger = process.env.BENCH_KAFKA_LINGER_MS;
  const bridgeEnv = {
    ...common,
    DATA_DIR: tmpDir("bench-co-bridge-"),
    KAFKA_BROKERS: KAFKA,
    ...(linger ? { KAFKA_LINGER_MS: linger } : {}),
  };
  const without: Row[] = [];
  const withBridge: Row[] = [];
  // One bridge for the whole phase, warmed up with the rest of the cluster. "Without" freezes it
  // (SIGSTOP: no CPU, nothing consumed, its backlog waits in JetStream); "with" lets it go on
  // (SIGCONT) and drain that backlog first. Until 2026-11-28 every "with" round started a fresh
  // bridge, which then paid its start-up and JIT warm-up inside the round (a bridge forwarding 240
  // records/s costs ~490 µs per record over its first 5 s, ~240 over 30 s: bench/bridge-cost).
  const bridge = startNode("bridge", ["kafka-bridge"], bridgeEnv, BRIDGE_NICE);
  const signal = (sig: NodeJS.Signals) => alive(bridge) && process.kill(bridge.pid!, sig);
  const measureWith = async (r: number) => {
    signal("SIGCONT");
    await obs.waitForServices(["kafka-bridge"], 30_000);
    await bridgeDrained(obs);
    withBridge.push(await load(`K with the Kafka bridge #${r}`, base, tokens, spread, SECONDS));
    // Publishing is asynchronous: how far Kafka was behind checkout when the load stopped.
    const ended = Date.now();
    const atEnd: any = await obs.call("kafka-bridge.status", {}, { timeout: 3000 }).catch(() => null);
    const done = await bridgeDrained(obs);
    console.log(
      `    bridge: ${atEnd?.backlog ?? "?"} records behind when the load stopped, ` +
        `the last one in Kafka ${Math.max(0, done.lastProducedAt - ended)} ms later`,
    );
  };
  const measureWithout = async (r: number) => {
    signal("SIGSTOP");
    without.push(await load(`K without the Kafka bridge #${r}`, base, tokens, spread, SECONDS));
  };
  try {
    await obs.waitForServices(["kafka-bridge"], 30_000);
    // A warm cluster and bridge for both variants, and the order alternates (ABBA...): the store
    // grows with every order placed, so whichever variant always ran second would meet a bigger one.
    await load("K warm-up with the bridge (not counted)", base, tokens, spread, 2 * SECONDS);
    await bridgeDrained(obs);
    for (let r = 1; r <= K_ROUNDS; r++) {
      if (r % 2) await measureWithout(r).then(() => measureWith(r));
      else await measureWith(r).then(() => measureWithout(r));
    }
  } finally {
    signal("SIGCONT"); // a stopped process would not act on SIGTERM
    await kill([bridge]);
    await obs.stop();
  }
  const pairs = withBridge.map((w, i) => ({ rps: w.rps / without[i].rps, cpu: without[i].cpuUs / w.cpuUs }));
  console.log(`    with / without, each pair: ${pairs.map((p) => p.rps.toFixed(2)).join(" ")}`);
  return { rps: median(pairs.map((p) => p.rps)), cpu: median(pairs.map((p) => p.cpu)) };
}

/** The catalogue and its stock, seeded by a child of this file into a fresh DATA_DIR. */
export async function seedCatalog(): Promise<string> {
  const seeded = tmpDir("bench-co-seed-");
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, [__filename, "seed"], {
      env: { PATH: process.env.PATH ?? "", NODE_ENV: "development", LOG_LEVEL: "warn", DATA_DIR: seeded },
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    children.push(child);
    child.once("message", () => resolve());
    child.once("exit", (code) => (code ? reject(new Error(`seed exited with ${code}`)) : resolve()));
  });
  return seeded;
}

async function run() {
  console.log(
    `checkout bench: node ${process.version}, ${os.cpus().length} cpu(s), NeDB, ${CONCURRENCY} clients, ` +
      `${SECONDS} s rounds x ${ROUNDS} (K: ${K_ROUNDS}), 1 hot + ${SPREAD} products\n`,
  );
  const seeded = await seedCatalog();
  printHeader();

  const e = ONLY.has("e") ? await embedded(seeded) : undefined;
  let withKafka = ONLY.has("k");
  if (withKafka && !(await reachable(KAFKA))) {
    console.log(`  (K skipped: Kafka is not reachable on ${KAFKA})`);
    withKafka = false;
  }
  const c = ONLY.has("c") || withKafka ? await clustered(seeded, withKafka) : {};
  const p = ONLY.has("p") ? await pricedVsPlain(seeded) : undefined;
  const risk = ONLY.has("r") ? await riskRounds(seeded) : undefined;

  const verdict = (r: number | undefined, target: number) =>
    r === undefined ? "-" : `${r.toFixed(2)}  (target >= ${target}: ${r >= target ? "met" : "MISSED"})`;
  console.log(
    "\nratios of orders/s (medians of the rounds; K: of the pairs' ratios), and the same from CPU per order:",
  );
  console.log(
    `  E embedded, hot / spread            ${verdict(e?.rps, 0.5)}   CPU ${e?.cpu.toFixed(2) ?? "-"}`,
  );
  console.log(
    `  C clustered, hot / spread           ${verdict(c.hotSpread?.rps, 0.5)}   CPU ${c.hotSpread?.cpu.toFixed(2) ?? "-"}`,
  );
  console.log(
    `  K clustered, with / without bridge  ${verdict(c.kafka?.rps, 0.9)}   CPU ${c.kafka?.cpu.toFixed(2) ?? "-"}`,
  );
  console.log(`  P embedded, priced / plain          ${verdict(p?.rps, 0.8)}   CPU ${verdict(p?.cpu, 0.8)}`);
  const direct = risk?.direct;
  const within = direct ? `  (target <= 1.05: ${direct.cpu <= 1.05 ? "met" : "MISSED"})` : "";
  console.log(
    `  R embedded, ${R_USERS} customers, CPU per order as shipped / risk step stubbed out  ` +
      `${direct ? direct.cpu.toFixed(3) : "-"}${within}   orders/s ${direct?.rps.toFixed(2) ?? "-"}`,
  );
  const pct = (v: number | undefined) => (v === undefined ? "-" : `${(v * 100).toFixed(1)} %`);
  console.log(
    `    of which one scoring's work ${pct(risk?.compute)}, keeping its result ${pct(risk?.store)}`,
  );
  if (risk?.inline !== undefined)
    console.log(`    inside the order's step, beyond run apart: ${pct(risk.inline)}`);
}

const main = () => runBench("checkout", DEADLINE_MS, run);

if (require.main === module) {
  if (process.argv[2] === "seed")
    seed().catch((err) => {
      console.error("checkout bench seed failed:", err);
      process.exit(1);
    });
  else void main();
}
