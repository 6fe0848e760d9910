/**
 * Catalog benchmark, on 127.0.0.1 only, bounded (about 2 minutes):
 *
 *   npm run bench:catalog        (builds, then node dist/bench/catalog.js)
 *
 *   A) GET /api/products (a cached page of 20) vs GET /api/hello, a moleculer-web hello route on the
 *      same gateway (same route, same hooks), both through autocannon:
 *        A1 embedded: one process runs api, products and inventory (target ratio >= 0.7);
 *        A2 remote: the gateway on one process, products + inventory on another, over NATS
 *           (target >= 0.5).
 *      Interleaved rounds; ratios from the medians.
 *   C) GET /api/products uncached (the broker's cacher off) over 10,000 products, a random page
 *      and sort per request: p50 and p99 at 1 and 10 connections.
 *   D) inventory.reserve of 1 unit, in-process, on one hot product vs spread over 1,000 products:
 *      throughput ratio hot / spread (target >= 0.5).
 *   V) variants: the uncached list of C over 10,000 products with 5 variants each (sizes) vs the
 *      same over 10,000 products without variants, alternated ABBA on two nodes of the same
 *      code, 10 connections: ratio of req/s (target >= 0.8, issue 14), and the uncached facets
 *      and `?option.Size=M` list over the variant catalogue. With BENCH_MONGO_URI, V runs again
 *      on that MongoDB-API store.
 *
 * The store is the embedded default (NeDB files in a temp dir), seeded once and copied for each
 * node. BENCH_MONGO_URI=mongodb://... runs D a second time on that MongoDB-API store.
 * Every node is a child process of this one (this process only generates load), started with its
 * own nats-server on a free port; all are killed by pid at the end, also on error.
 *
 * Environment: BENCH_HTTP_SECONDS (5), BENCH_HTTP_CONNECTIONS (50), BENCH_ROUNDS (3),
 * BENCH_PRODUCTS (10000), BENCH_RESERVE_MS (4000), BENCH_RESERVE_CONCURRENCY (32).
 */
import { spawn, type ChildProcess } from "node:child_process";
import os from "node:os";
import { performance } from "node:perf_hooks";
import { ServiceBroker } from "moleculer";
import { loadService } from "../bin/node";
import { loadConfig, reloadConfig } from "../lib/config";
import { brokerOptions } from "../moleculer.config";
import { derivedFields, variantsOf, type ProductDoc } from "../domain/catalog";
import { HELLO } from "./echo-node";
import { alive, children, cpuUs, freePort, kill, runBench, startNats, tmpDir } from "./support";

const autocannon: (opts: Record<string, unknown>) => Promise<any> = require("autocannon");

const HTTP_SECONDS = Number(process.env.BENCH_HTTP_SECONDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_HTTP_CONNECTIONS ?? 50);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const PRODUCTS = Number(process.env.BENCH_PRODUCTS ?? 10_000);
const RESERVE_MS = Number(process.env.BENCH_RESERVE_MS ?? 4000);
const RESERVE_CONCURRENCY = Number(process.env.BENCH_RESERVE_CONCURRENCY ?? 32);
const SPREAD = 1000;
const DEADLINE_MS = 600_000;
/** Phase V: ABBA rounds per measure, and seconds of uncached load before they count. */
const V_ROUNDS = Number(process.env.BENCH_V_ROUNDS ?? 4);
const V_WARMUP_SECONDS = Number(process.env.BENCH_V_WARMUP_SECONDS ?? 10);
/** The default page is the first 20; BENCH_LIST_PATH="/api/products?page=1&pageSize=20" spells it out. */
const LIST_PATH = process.env.BENCH_LIST_PATH ?? "/api/products";
/** BENCH_ONLY=a1,a2,c,d runs only those parts. */
const ONLY = new Set((process.env.BENCH_ONLY ?? "a1,a2,c,d,v").split(",").map((x) => x.trim()));

// ---------------------------------------------------------------- child nodes

type Role = "seed" | "embedded" | "gateway" | "catalog" | "uncached" | "reserve";
/** Variants per product of a seeded catalogue (BENCH_SEED_VARIANTS, set per seed node). */
const SIZES = ["S", "M", "L", "XL", "XXL"];

const SERVICES: Record<Role, string[]> = {
  seed: ["products", "inventory"],
  embedded: ["api", "products", "inventory"],
  gateway: ["api"],
  catalog: ["products", "inventory"],
  uncached: ["api", "products", "inventory"],
  reserve: ["inventory"],
};

/** A product of the seeded catalogue with `variants` sizes (0: a product without options). */
function benchProduct(i: number, at: string, variants: number): ProductDoc {
  const doc: ProductDoc = {
    _id: `bench-${String(i).padStart(6, "0")}`,
    sku: `BENCH-${i}`,
    name: `Bench product ${i}`,
    description: `Product number ${i} of the benchmark catalogue`,
    price: 100 + ((i * 7919) % 50_000),
    currency: "USD",
    category: `cat-${i % 12}`,
    images: [],
    active: true,
    deleted: false,
    version: 1,
    createdAt: at,
    updatedAt: at,
  };
  // Stored as this version stores them (derived fields, inStock), so no start-up migration runs
  // during the measurement.
  if (!variants) return { ...doc, ...derivedFields(doc), inStock: true };
  const sizes = SIZES.slice(0, variants);
  doc.basePrice = doc.price;
  doc.options = [{ name: "Size", values: sizes }];
  doc.variants = sizes.map((Size, k) => ({
    id: `${doc._id}-${Size}`,
    sku: `BENCH-${i}-${Size}`,
    options: { Size },
    ...(k ? { price: doc.price + k * 100 } : {}),
    active: (i + k) % 7 !== 0,
  }));
  // Variant k = 1 is seeded with no stock; every product has another active variant with some.
  return { ...doc, ...derivedFields(doc), inStock: true };
}

async function seed(broker: ServiceBroker) {
  const products: any = broker.getLocalService("products");
  const inventory: any = broker.getLocalService("inventory");
  const variants = Number(process.env.BENCH_SEED_VARIANTS ?? 0);
  const t0 = Date.parse("2026-01-01T00:00:00Z");
  for (let from = 0; from < PRODUCTS; from += 1000) {
    const docs: ProductDoc[] = [];
    for (let i = from; i < Math.min(from + 1000, PRODUCTS); i++)
      docs.push(benchProduct(i, new Date(t0 + i * 1000).toISOString(), variants));
    await products.adapter.insertMany(docs);
    await inventory.adapter.insertMany(
      docs.flatMap((d) =>
        variantsOf(d).map((v, k) => ({
          _id: v.id,
          kind: "stock",
          productId: v.id,
          ...(v.id === d._id ? {} : { ownerId: d._id }),
          available: k === 1 ? 0 : 50,
          reserved: 0,
          deleted: false,
        })),
      ),
    );
  }
}

/** Closed-loop reserve calls for RESERVE_MS; lines from `line()`. */
async function reserveLoop(broker: ServiceBroker, label: string, line: () => string) {
  let n = 0;
  let errors = 0;
  const end = performance.now() + RESERVE_MS;
  const start = performance.now();
  const worker = async () => {
    while (performance.now() < end) {
      const orderId = `${label}-${process.pid}-${n + errors}-${Math.random().toString(36).slice(2)}`;
      try {
        await broker.call("inventory.reserve", { orderId, lines: [{ productId: line(), quantity: 1 }] });
        n++;
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: RESERVE_CONCURRENCY }, worker));
  return { rps: (n / (performance.now() - start)) * 1000, requests: n, errors };
}

async function reserveBench(broker: ServiceBroker) {
  await broker.call("inventory.init", { productId: "hot", available: 1e9 });
  for (let i = 0; i < SPREAD; i++)
    await broker.call("inventory.init", { productId: `spread-${i}`, available: 1e6 });
  const hotLine = () => "hot";
  const spreadLine = () => `spread-${Math.floor(Math.random() * SPREAD)}`;
  await reserveLoop(broker, "warm", spreadLine);
  // Interleaved in ABBA order, so drift (a growing reservations collection, other load) hits both alike.
  const hot = [];
  const spread = [];
  hot.push(await reserveLoop(broker, "hot", hotLine));
  spread.push(await reserveLoop(broker, "spread", spreadLine));
  spread.push(await reserveLoop(broker, "spread", spreadLine));
  hot.push(await reserveLoop(broker, "hot", hotLine));
  const sum = (xs: Array<{ rps: number; requests: number; errors: number }>) => ({
    rps: xs.reduce((a, x) => a + x.rps, 0) / xs.length,
    requests: xs.reduce((a, x) => a + x.requests, 0),
    errors: xs.reduce((a, x) => a + x.errors, 0),
  });
  return { hot: sum(hot), spread: sum(spread) };
}

async function runNode(role: Role) {
  const cfg = reloadConfig(process.env);
  const broker = new ServiceBroker({
    ...brokerOptions(loadConfig(process.env), role === "uncached" ? { cacher: undefined } : {}),
    skipProcessEventRegistration: true,
  });
  const services = SERVICES[role];
  if (services.includes("api")) {
    // The gateway module reads its configuration when it loads: only nodes that run it load it.
    const { API_ALIASES } = await import("../services/api/routes");
    API_ALIASES["GET /hello"] = "bench.hello";
    broker.createService({ name: "bench", actions: { hello: () => HELLO } });
  }
  for (const name of services) broker.createService(loadService(name));
  const stop = async (code: number) => {
    setTimeout(() => process.exit(code), 3000).unref();
    await broker.stop().catch(() => undefined);
    process.exit(code);
  };
  process.on("SIGTERM", () => void stop(0));
  process.on("disconnect", () => void stop(0));
  await broker.start();
  if (role === "gateway") await broker.waitForServices(["products", "inventory"], 30_000);
  if (role === "seed") {
    await seed(broker);
    process.send?.({ done: true });
    return stop(0);
  }
  if (role === "reserve") {
    process.send?.({ result: await reserveBench(broker), store: cfg.mongoUri ? "mongo" : "nedb" });
    return stop(0);
  }
  process.send?.({ ready: role });
}

// ---------------------------------------------------------------- orchestration

/** Spawns this file as a node of `role`; resolves with its first IPC message. */
function spawnNode(role: Role, env: Record<string, string>): Promise<{ child: ChildProcess; msg: any }> {
  const child = spawn(process.execPath, [__filename, "node", role], {
    env: {
      PATH: process.env.PATH ?? "",
      NODE_ENV: "development",
      LOG_LEVEL: "warn",
      RATE_LIMIT_PER_MINUTE: "10000000",
      NODE_ID: `bench-${role}-${process.pid}`,
      ...env,
    },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    child.once("message", (msg) => resolve({ child, msg }));
    child.once("exit", (code) => reject(new Error(`bench node ${role} exited (${code}) before reporting`)));
  });
}

interface Row {
  name: string;
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  errors: number;
  /** CPU of the node processes per request, in µs: what the ratio is when the machine is shared. */
  cpuUs: number;
}
const nodesCpu = () => children.filter(alive).reduce((sum, c) => sum + cpuUs(c.pid!), 0);

function print(row: Row) {
  const ms = (v: number) => (Number.isNaN(v) ? "-" : v.toFixed(1)).padStart(7);
  console.log(
    `| ${row.name.padEnd(56)} | ${row.rps.toFixed(0).padStart(7)} | ${ms(row.p50)} | ${ms(row.p99)} | ` +
      `${String(row.requests).padStart(8)} | ${String(row.errors).padStart(6)} | ${ms(row.cpuUs)} |`,
  );
}

async function http(name: string, opts: Record<string, unknown>): Promise<Row> {
  await autocannon({ ...opts, duration: 1 });
  const cpu0 = nodesCpu();
  const each0 = new Map(children.filter(alive).map((c) => [c.pid!, cpuUs(c.pid!)]));
  const r = await autocannon({ ...opts, duration: HTTP_SECONDS });
  const cpu = nodesCpu() - cpu0;
  if (process.env.BENCH_VERBOSE) {
    const used = [...each0].map(([pid, us]) => `${pid} ${((cpuUs(pid) - us) / r.requests.total).toFixed(0)}`);
    console.log(`    CPU µs/req by node (pid): ${used.join(", ")}`);
  }
  const row = {
    name,
    rps: r.requests.total / HTTP_SECONDS,
    p50: r.latency.p50,
    p99: r.latency.p99,
    requests: r.requests.total,
    errors: r.errors + r.timeouts + r.non2xx,
    cpuUs: cpu / r.requests.total,
  };
  print(row);
  return row;
}

async function expectPage(base: string) {
  const res = await fetch(base + LIST_PATH);
  const body: any = await res.json();
  if (res.status !== 200 || body.rows?.length !== 20 || typeof body.rows[0].available !== "number")
    throw new Error(`GET ${LIST_PATH} answered ${res.status} ${JSON.stringify(body).slice(0, 300)}`);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[(xs.length - 1) >> 1];

async function helloVsList(label: string, base: string) {
  await expectPage(base);
  const hello: Row[] = [];
  const list: Row[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    hello.push(
      await http(`${label}: GET /api/hello #${round}`, {
        url: `${base}/api/hello`,
        connections: CONNECTIONS,
      }),
    );
    list.push(
      await http(`${label}: GET /api/products (cached page of 20) #${round}`, {
        url: base + LIST_PATH,
        connections: CONNECTIONS,
      }),
    );
  }
  return {
    rps: median(list.map((r) => r.rps)) / median(hello.map((r) => r.rps)),
    cpu: median(hello.map((r) => r.cpuUs)) / median(list.map((r) => r.cpuUs)),
  };
}

async function uncached(seeded: string) {
  const port = await freePort();
  const nodes = [
    (await spawnNode("uncached", { DATA_DIR: tmpDir("bench-c-", seeded), PORT: String(port) })).child,
  ];
  const pages = Math.ceil(PRODUCTS / 20);
  const sorts = ["price", "-price", "name", "-name", "createdAt", "-createdAt"];
  const randomPage = (req: any) => ({
    ...req,
    path: `/api/products?pageSize=20&page=${1 + Math.floor(Math.random() * pages)}&sort=${sorts[Math.floor(Math.random() * sorts.length)]}`,
  });
  for (const connections of [1, 10])
    await http(`C uncached list over ${PRODUCTS}, random page and sort, ${connections} conn`, {
      url: `http://127.0.0.1:${port}`,
      connections,
      requests: [{ setupRequest: randomPage }],
    });
  await kill(nodes);
}

/**
 * V: the list over variant products / over plain products, on two nodes each: as served (cached,
 * a set of 30 pages and sorts warmed first: what clients get) and uncached (the store's work for
 * a random page and sort). ABBA rounds; each ratio is the median of the back-to-back pairs'.
 */
async function variantsPhase(label: string, plain: Record<string, string>, sized: Record<string, string>) {
  const start = async (role: Role, env: Record<string, string>) => {
    const port = await freePort();
    const { child } = await spawnNode(role, { ...env, PORT: String(port) });
    return { child, base: `http://127.0.0.1:${port}` };
  };
  const nodes = {
    plainCached: await start("embedded", { ...plain, DATA_DIR: tmpDir("bench-vc-", plain.DATA_DIR) }),
    sizedCached: await start("embedded", { ...sized, DATA_DIR: tmpDir("bench-vc-", sized.DATA_DIR) }),
    plain: await start("uncached", plain),
    sized: await start("uncached", sized),
  };
  const pages = Math.ceil(PRODUCTS / 20);
  const sorts = ["price", "-price", "name", "-name", "createdAt", "-createdAt"];
  const served = sorts.flatMap((sort) =>
    [1, 2, 3, 4, 5].map((page) => `/api/products?page=${page}&sort=${sort}`),
  );
  const randomPath = (extra: string) =>
    `/api/products?pageSize=20&page=${1 + Math.floor(Math.random() * pages)}&sort=${sorts[Math.floor(Math.random() * sorts.length)]}${extra}`;
  const load = (base: string, pathOf: () => string, connections: number) => ({
    url: base,
    connections,
    requests: [{ setupRequest: (req: any) => ({ ...req, path: pathOf() }) }],
  });
  let i = 0;
  const cachedPath = () => served[i++ % served.length];
  for (const { base } of [nodes.plainCached, nodes.sizedCached])
    for (const path of served)
      if ((await fetch(base + path)).status !== 200) throw new Error(`${base}${path}`);
  // The JVM of the MongoDB API server and each node's caches warm up before anything counts.
  for (const { base } of [nodes.plain, nodes.sized])
    await autocannon({ ...load(base, () => randomPath(""), 10), duration: V_WARMUP_SECONDS });

  const pairs = async (what: string, a: string, b: string, pathOf: () => string, connections: number) => {
    const ratios: number[] = [];
    const cpu: number[] = [];
    for (let round = 1; round <= V_ROUNDS; round++) {
      const rows: Record<string, Row> = {};
      for (const which of round % 2 ? ["a", "b"] : ["b", "a"])
        rows[which] = await http(
          `V ${label}: ${what}, ${which === "a" ? "no variants" : "5 variants each"} #${round}`,
          load(which === "a" ? a : b, pathOf, connections),
        );
      ratios.push(rows.b.rps / rows.a.rps);
      cpu.push(rows.a.cpuUs / rows.b.cpuUs);
    }
    return { rps: median(ratios), cpu: median(cpu) };
  };
  const cached = await pairs(
    "list as served (cached)",
    nodes.plainCached.base,
    nodes.sizedCached.base,
    cachedPath,
    CONNECTIONS,
  );
  const store = await pairs("list uncached", nodes.plain.base, nodes.sized.base, () => randomPath(""), 10);
  await http(
    `V ${label}: list ?option.Size=M uncached, 5 variants each`,
    load(nodes.sized.base, () => randomPath("&option.Size=M"), 10),
  );
  await http(`V ${label}: facets (uncached), 5 variants each`, {
    url: `${nodes.sized.base}/api/products/facets`,
    connections: 1,
  });
  await kill(Object.values(nodes).map((n) => n.child));
  return { label, cached, store };
}

/** The bench's own databases on the MongoDB API server, so runs do not pile up in its store. */
async function dropDatabases(uri: string, names: string[]) {
  // The driver moleculer-db-adapter-mongo brings (not a dependency of our own).
  const { MongoClient } = require("mongodb");
  const client = await MongoClient.connect(uri, { useUnifiedTopology: true });
  try {
    for (const name of names) await client.db(name).dropDatabase();
  } finally {
    await client.close();
  }
}

async function reserves(namespace: string): Promise<Array<[string, number]>> {
  const stores: Array<[string, Record<string, string>]> = [["NeDB", { DATA_DIR: tmpDir("bench-d-") }]];
  if (process.env.BENCH_MONGO_URI)
    stores.push([
      "MongoDB API",
      {
        DATA_DIR: tmpDir("bench-d-"),
        MONGO_URI: process.env.BENCH_MONGO_URI.replace(/\/[^/]*$/, `/${namespace}`),
      },
    ]);
  const d: Array<[string, number]> = [];
  for (const [store, env] of stores) {
    const { msg } = await spawnNode("reserve", env);
    const { hot, spread } = msg.result;
    const row = (what: string, r: any) =>
      print({
        name: `D reserve 1 unit, ${what}, ${store}, c=${RESERVE_CONCURRENCY}`,
        p50: NaN,
        p99: NaN,
        cpuUs: NaN,
        ...r,
      });
    row("one hot product", hot);
    row(`spread over ${SPREAD}`, spread);
    d.push([store, hot.rps / spread.rps]);
  }
  return d;
}

async function run() {
  const namespace = `benchcat${process.pid}`;
  console.log(
    `catalog bench: node ${process.version}, ${os.cpus().length} cpu(s), ${PRODUCTS} products (NeDB); ` +
      `HTTP: autocannon ${CONNECTIONS} connections, 1 s warm-up + ${HTTP_SECONDS} s, ${ROUNDS} interleaved rounds\n`,
  );
  const seeded = tmpDir("bench-catalog-seed-");
  await spawnNode("seed", { DATA_DIR: seeded });
  console.log(`| ${"scenario".padEnd(56)} |   req/s |  p50 ms |  p99 ms | requests | errors | CPU µs/req |`);
  console.log(`|${"-".repeat(58)}|--------:|--------:|--------:|---------:|-------:|-----------:|`);

  let a1 = { rps: NaN, cpu: NaN };
  if (ONLY.has("a1")) {
    const port = await freePort();
    const node = await spawnNode("embedded", { DATA_DIR: tmpDir("bench-a1-", seeded), PORT: String(port) });
    a1 = await helloVsList("A1 embedded", `http://127.0.0.1:${port}`);
    await kill([node.child]);
  }

  let a2 = { rps: NaN, cpu: NaN };
  if (ONLY.has("a2")) {
    const transporter = await startNats();
    const cluster = { TRANSPORTER: transporter, NAMESPACE: namespace };
    const port = await freePort();
    const nodes = [(await spawnNode("catalog", { ...cluster, DATA_DIR: tmpDir("bench-a2-", seeded) })).child];
    nodes.push(
      (await spawnNode("gateway", { ...cluster, DATA_DIR: tmpDir("bench-a2gw-"), PORT: String(port) })).child,
    );
    a2 = await helloVsList("A2 remote", `http://127.0.0.1:${port}`);
    await kill(nodes);
  }

  if (ONLY.has("c")) await uncached(seeded);
  const d = ONLY.has("d") ? await reserves(namespace) : [];
  if (ONLY.has("d") && process.env.BENCH_MONGO_URI)
    await dropDatabases(process.env.BENCH_MONGO_URI, [namespace]);
  const v: Array<Awaited<ReturnType<typeof variantsPhase>>> = [];
  if (ONLY.has("v")) {
    const sized = tmpDir("bench-catalog-seedv-");
    await spawnNode("seed", { DATA_DIR: sized, BENCH_SEED_VARIANTS: String(SIZES.length) });
    v.push(
      await variantsPhase(
        "NeDB",
        { DATA_DIR: tmpDir("bench-v-", seeded) },
        { DATA_DIR: tmpDir("bench-v-", sized) },
      ),
    );
    if (process.env.BENCH_MONGO_URI) {
      const mongo = (db: string) => ({
        MONGO_URI: process.env.BENCH_MONGO_URI!.replace(/\/[^/]*$/, `/${db}`),
      });
      await spawnNode("seed", { DATA_DIR: tmpDir("bench-vm-"), ...mongo(`${namespace}p`) });
      await spawnNode("seed", {
        DATA_DIR: tmpDir("bench-vm-"),
        BENCH_SEED_VARIANTS: String(SIZES.length),
        ...mongo(`${namespace}v`),
      });
      try {
        v.push(
          await variantsPhase(
            "MongoDB API",
            { DATA_DIR: tmpDir("bench-vm-"), ...mongo(`${namespace}p`) },
            { DATA_DIR: tmpDir("bench-vm-"), ...mongo(`${namespace}v`) },
          ),
        );
      } finally {
        await dropDatabases(process.env.BENCH_MONGO_URI, [`${namespace}p`, `${namespace}v`]);
      }
    }
  }

  const verdict = (r: number, target: number) =>
    `${r.toFixed(2)}  (target >= ${target}: ${r >= target ? "met" : "MISSED"})`;
  console.log("\nratios of req/s (medians of the rounds):");
  if (ONLY.has("a1"))
    console.log(`  A1 cached list / hello, embedded                  ${verdict(a1.rps, 0.7)}`);
  if (ONLY.has("a2"))
    console.log(`  A2 cached list / hello, products on another node  ${verdict(a2.rps, 0.5)}`);
  for (const [store, r] of d) console.log(`  D reserve hot / spread, ${store.padEnd(26)}${verdict(r, 0.5)}`);
  for (const r of v) {
    const line = (what: string, m: { rps: number; cpu: number }, target?: number) =>
      console.log(
        `  V ${what}, 5 variants / none, ${r.label.padEnd(12)}${target ? verdict(m.rps, target) : m.rps.toFixed(2)}; by CPU per request ${m.cpu.toFixed(2)}`,
      );
    line("list as served", r.cached, 0.8);
    line("list uncached (store work)", r.store);
  }
  if (!ONLY.has("a1") && !ONLY.has("a2")) return;
  console.log(
    "the A ratios from CPU per request of the node processes (hello's / list's; immune to other load):",
  );
  if (ONLY.has("a1")) console.log(`  A1 embedded                                       ${a1.cpu.toFixed(2)}`);
  if (ONLY.has("a2")) console.log(`  A2 products on another node                       ${a2.cpu.toFixed(2)}`);
}

const main = () => runBench("catalog", DEADLINE_MS, run);

if (require.main === module) {
  if (process.argv[2] === "node")
    runNode(process.argv[3] as Role).catch((err) => {
      console.error(`bench node ${process.argv[3]} failed:`, err);
      process.exit(1);
    });
  else void main();
}
