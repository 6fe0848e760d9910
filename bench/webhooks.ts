/**
 * Outbound webhooks' cost to checkout, on 127.0.0.1 only, bounded (about 2 minutes; gives up after 5):
 *
 *   npm run bench:webhooks        (builds, then node dist/bench/webhooks.js)
 *
 * The clustered checkout of bench/checkout.ts (gateway | users+tokens | products+carts |
 * inventory | payments | orders+pricing, NeDB stores, a nats-server of its own with JetStream) plus one
 * node running `webhooks`, and two receivers in this process: a healthy one (200 at once) and a
 * hanging one (never answers: every attempt waits out the 10 s timeout). Closed-loop POST
 * /api/orders from BENCH_CONCURRENCY clients, spread over 1,000 products, in pairs of rounds:
 *   with     both endpoints active (events "*"): every order event goes to both;
 *   without  both endpoints switched off (PATCH active: false): the same nodes, nothing sent.
 * The pairs alternate (ABBA...), each pair's ratio is taken and the median reported (target:
 * with / without >= 0.9). After the rounds: the healthy receiver's count of distinct events
 * against what the webhooks node recorded for it.
 *
 * Environment: BENCH_SECONDS (5), BENCH_PAIRS (6), BENCH_CONCURRENCY (16), BENCH_PROFILE (a node's
 * name, e.g. webhooks: that node writes a V8 CPU profile into the current directory when it stops).
 */
import { spawn } from "node:child_process";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { alive, children, cpuUs, freePort, kill, runBench, sleep, startNats, tmpDir } from "./support";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const PAIRS = Number(process.env.BENCH_PAIRS ?? 6);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const SPREAD = 1000;
const DEADLINE_MS = 300_000;
const ADMIN = { email: "bench-admin@shop.test", password: "bench-admin-password" };
const ADDRESS = { name: "Bench", line1: "1 Loop St", city: "Localhost", postalCode: "127", country: "US" };
const NODE_JS = path.join(__dirname, "..", "bin", "node.js");
const CLUSTER: Record<string, string[]> = {
  gateway: ["api"],
  identity: ["users", "tokens"],
  catalog: ["products", "carts"],
  inventory: ["inventory"],
  payments: ["payments"],
  orders: ["orders", "pricing"],
  webhooks: ["webhooks"],
};
const productId = (i: number) => `bench-${String(i).padStart(4, "0")}`;

function startNode(name: string, services: string[], env: Record<string, string>) {
  const profile = process.env.BENCH_PROFILE === name ? ["--cpu-prof"] : [];
  const child = spawn(process.execPath, [...profile, NODE_JS], {
    env: {
      PATH: process.env.PATH ?? "",
      NODE_ENV: "development",
      LOG_LEVEL: "warn",
      NODE_OPTIONS: "--no-deprecation",
      RATE_LIMIT_PER_MINUTE: "10000000",
      AUTH_RATE_LIMIT_PER_MINUTE: "10000000",
      ACCESS_TOKEN_TTL: "3600",
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
      WEBHOOK_ALLOW_HTTP: "1",
      WEBHOOK_ALLOW_PRIVATE: "1",
      NODE_ID: `bench-${name}-${process.pid}`,
      SERVICES: services.join(","),
      ...env,
    },
    stdio: ["ignore", "inherit", "inherit"],
  });
  children.push(child);
  nodeNames.set(child.pid!, name);
  return child;
}

async function api(base: string, method: string, url: string, body?: unknown, token?: string) {
  const res = await fetch(base + url, {
    method,
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json().catch(() => null)) as any };
}

/** The healthy receiver counts distinct events; the hanging one holds every request open. */
async function receivers() {
  const seen = new Set<string>();
  const hanging = new Set<http.ServerResponse>();
  const healthy = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      seen.add(String(req.headers["shop-event-id"]));
      res.writeHead(200).end();
    });
  });
  const hang = http.createServer((req, res) => {
    req.resume();
    hanging.add(res);
    res.on("close", () => hanging.delete(res));
  });
  for (const s of [healthy, hang]) await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  const url = (s: http.Server) => `http://127.0.0.1:${(s.address() as AddressInfo).port}/hook`;
  return {
    healthyUrl: url(healthy),
    hangingUrl: url(hang),
    seen,
    close() {
      for (const res of hanging) res.destroy();
      healthy.close();
      hang.close();
    },
  };
}

/** CPU µs per order of each node, summed over the rounds with and without receivers. */
const byNode = { with: new Map<string, number[]>(), without: new Map<string, number[]>() };
const nodeNames = new Map<number, string>();

async function load(name: string, base: string, tokens: string[], kind?: "with" | "without") {
  let orders = 0;
  let errors = 0;
  const perNode0 = new Map(children.filter(alive).map((c) => [c.pid!, cpuUs(c.pid!)]));
  const cpu0 = [...perNode0.values()].reduce((n, v) => n + v, 0);
  const start = performance.now();
  const end = start + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, c) => {
      while (performance.now() < end) {
        const res = await api(
          base,
          "POST",
          "/api/orders",
          {
            items: [{ productId: productId(Math.floor(Math.random() * SPREAD)), quantity: 1 }],
            payment: { method: "card", token: "tok_visa" },
            shippingAddress: ADDRESS,
          },
          tokens[c % tokens.length],
        ).catch(() => ({ status: 0 }));
        if (res.status === 201) orders++;
        else errors++;
      }
    }),
  );
  const rps = orders / ((performance.now() - start) / 1000);
  const cpu = (children.filter(alive).reduce((n, c) => n + cpuUs(c.pid!), 0) - cpu0) / Math.max(1, orders);
  if (kind)
    for (const [pid, before] of perNode0) {
      const node = nodeNames.get(pid);
      if (!node) continue;
      const list = byNode[kind].get(node) ?? [];
      list.push((cpuUs(pid) - before) / Math.max(1, orders));
      byNode[kind].set(node, list);
    }
  console.log(
    `| ${name.padEnd(34)} | ${rps.toFixed(0).padStart(8)} | ${String(orders).padStart(6)} | ${String(errors).padStart(6)} | ${cpu.toFixed(0).padStart(10)} |`,
  );
  return rps;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function run() {
  console.log(
    `webhooks bench: node ${process.version}, ${os.cpus().length} cpu(s), NeDB, ${CONCURRENCY} clients, ` +
      `${SECONDS} s rounds x ${PAIRS} pairs, ${SPREAD} products\n`,
  );
  const seeded = tmpDir("bench-wh-seed-");
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(__dirname, "checkout.js"), "seed"], {
      env: { PATH: process.env.PATH ?? "", NODE_ENV: "development", LOG_LEVEL: "warn", DATA_DIR: seeded },
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    children.push(child);
    child.once("message", () => resolve());
    child.once("exit", (code) => (code ? reject(new Error(`seed exited with ${code}`)) : resolve()));
  });
  const transporter = await startNats();
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const common = { TRANSPORTER: transporter, NAMESPACE: `benchwh${process.pid}` };
  for (const [name, services] of Object.entries(CLUSTER))
    startNode(name, services, {
      ...common,
      DATA_DIR: tmpDir(`bench-wh-${name}-`, seeded),
      ...(name === "gateway" ? { PORT: String(port) } : {}),
    });
  for (let i = 0; ; i++) {
    // Ready but for notifications, left out on purpose (not checkout, and the same in both variants).
    const res = await fetch(`${base}/health/ready`).catch(() => null);
    const body: any = await res?.json().catch(() => null);
    const missing: string[] = body?.checks?.services?.missing ?? [];
    const ready =
      res?.status === 200 || (body?.failing?.join() === "services" && missing.join() === "notifications");
    // webhooks is optional to readiness (its absence only degrades it), but it is what is measured.
    if (ready && body?.checks?.webhooks !== "down") break;
    if (i > 240) throw new Error("the cluster was not ready after 60 s");
    await sleep(250);
  }
  const rx = await receivers();
  const admin = (await api(base, "POST", "/api/user/login", ADMIN)).body.accessToken;
  const endpoints: string[] = [];
  for (const url of [rx.healthyUrl, rx.hangingUrl]) {
    const res = await api(base, "POST", "/api/webhooks", { url, events: ["*"], active: false }, admin);
    if (res.status !== 201)
      throw new Error(`POST /api/webhooks answered ${res.status} ${JSON.stringify(res.body)}`);
    endpoints.push(res.body.id);
  }
  const switchTo = (active: boolean) =>
    Promise.all(endpoints.map((id) => api(base, "PATCH", `/api/webhooks/${id}`, { active }, admin)));
  const tokens: string[] = [];
  for (let i = 0; i < CONCURRENCY; i++) {
    const res = await api(base, "POST", "/api/user/signup", {
      email: `bench-wh-${process.pid}-${i}@shop.test`,
      password: "bench-password",
      name: `Bench ${i}`,
    });
    tokens.push(res.body.accessToken);
  }

  console.log(`| ${"scenario".padEnd(34)} | orders/s | orders | errors | CPU µs/ord |`);
  console.log(`|${"-".repeat(36)}|---------:|-------:|-------:|-----------:|`);
  await switchTo(true);
  await load("warm-up with receivers (not counted)", base, tokens);
  const ratios: number[] = [];
  for (let p = 1; p <= PAIRS; p++) {
    const measure = async (active: boolean) => {
      await switchTo(active);
      await sleep(1000); // every node has seen the change
      return load(
        `${active ? "with" : "without"} receivers #${p}`,
        base,
        tokens,
        active ? "with" : "without",
      );
    };
    const [first, second] = p % 2 ? [false, true] : [true, false];
    const a = await measure(first);
    const b = await measure(second);
    const withRps = first ? a : b;
    const withoutRps = first ? b : a;
    ratios.push(withRps / withoutRps);
  }
  const ratio = median(ratios);
  console.log(`\n  with / without, each pair: ${ratios.map((r) => r.toFixed(2)).join(" ")}`);
  const perNode = [...byNode.with.keys()].map((node) => {
    const extra = median(byNode.with.get(node)!) - median(byNode.without.get(node) ?? [0]);
    return `${node} ${extra >= 0 ? "+" : ""}${extra.toFixed(0)}`;
  });
  console.log(`  CPU µs per order, with minus without (medians), by node: ${perNode.join(", ")}`);
  console.log(
    `  with one healthy + one hanging receiver / none: ${ratio.toFixed(2)}  (target >= 0.9: ${ratio >= 0.9 ? "met" : "MISSED"})`,
  );

  // What the healthy endpoint was sent, against what was recorded for it.
  await switchTo(true);
  let recorded = 0;
  for (let i = 0; i < 120; i++) {
    const log = await api(
      base,
      "GET",
      `/api/webhooks/${endpoints[0]}/deliveries?pageSize=1`,
      undefined,
      admin,
    );
    recorded = log.body.total;
    if (rx.seen.size >= recorded) break;
    await sleep(500);
  }
  console.log(`  healthy receiver: ${rx.seen.size} distinct events received of ${recorded} recorded for it`);
  rx.close();
  // A profiled node writes its profile as it exits: give it time to stop.
  await kill(children.filter(alive), process.env.BENCH_PROFILE ? 15_000 : 3000);
}

if (require.main === module) void runBench("webhooks", DEADLINE_MS, run);
