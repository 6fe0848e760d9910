/**
 * What each METRICS setting costs per call, in one process with no transporter (no NATS, no
 * children): CPU time per call of a local action (sequential and 64 at once), and CPU time per
 * request of a moleculer-web route to a local action under autocannon (the load generator's
 * CPU included, the same for every setting). The settings alternate, round after round, so a
 * noisy machine weighs on each alike; compare medians.
 *
 *   npx tsc -p tsconfig.build.json && node dist/bench/metrics-cost.js      (BENCH_ROUNDS=3)
 *
 * For where the time goes: node --cpu-prof dist/bench/metrics-cost.js, then sum the self time of
 * moleculer/src/metrics, moleculer/src/middlewares/metrics and dist/lib/metrics over busy time.
 */
import { ServiceBroker } from "moleculer";
import ApiGateway from "moleculer-web";
import { loadConfig } from "../lib/config";
import { brokerOptions } from "../moleculer.config";
import { freePort } from "./support";

const autocannon: (opts: Record<string, unknown>) => Promise<any> = require("autocannon");

const MODES = ["off", "basic", "full"] as const;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CALLS = 100_000;
const HTTP_SECONDS = 3;

const cpuUs = (since: NodeJS.CpuUsage) => {
  const c = process.cpuUsage(since);
  return c.user + c.system;
};

async function measure(mode: (typeof MODES)[number]) {
  const port = await freePort();
  const cfg = loadConfig({ METRICS: mode, LOG_LEVEL: "fatal", NODE_ID: `metrics-cost-${mode}-${port}` });
  const broker = new ServiceBroker({ ...brokerOptions(cfg), skipProcessEventRegistration: true });
  broker.createService({ name: "echo", actions: { hello: () => ({ hello: "world" }) } });
  broker.createService({
    name: "web",
    mixins: [ApiGateway],
    settings: { port, ip: "127.0.0.1", routes: [{ path: "/", aliases: { "GET hello": "echo.hello" } }] },
  });
  await broker.start();
  try {
    const perCall: number[] = [];
    for (const concurrency of [1, 64]) {
      for (let i = 0; i < 10_000; i++) await broker.call("echo.hello");
      const since = process.cpuUsage();
      for (let i = 0; i < CALLS / concurrency; i++)
        await Promise.all(Array.from({ length: concurrency }, () => broker.call("echo.hello")));
      perCall.push(cpuUs(since) / CALLS);
    }
    const url = `http://127.0.0.1:${port}/hello`;
    await autocannon({ url, connections: 50, duration: 1 });
    const since = process.cpuUsage();
    const res = await autocannon({ url, connections: 50, duration: HTTP_SECONDS });
    return { perCall, perRequest: cpuUs(since) / res.requests.total, rps: res.requests.average };
  } finally {
    await broker.stop();
  }
}

async function main() {
  const rows: Record<string, { c1: number[]; c64: number[]; http: number[] }> = {};
  for (let round = 1; round <= ROUNDS; round++)
    for (const mode of MODES) {
      const m = await measure(mode);
      (rows[mode] ??= { c1: [], c64: [], http: [] }).c1.push(m.perCall[0]);
      rows[mode].c64.push(m.perCall[1]);
      rows[mode].http.push(m.perRequest);
      console.log(
        `round ${round} METRICS=${mode}: ${m.perCall.map((v) => v.toFixed(2)).join(" / ")} µs CPU per call ` +
          `(concurrency 1 / 64), ${m.perRequest.toFixed(1)} µs CPU per HTTP request (${Math.round(m.rps)} req/s)`,
      );
    }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log("\n| METRICS | µs CPU/call, conc 1 | µs CPU/call, conc 64 | µs CPU/HTTP request |");
  console.log("|---|---:|---:|---:|");
  for (const mode of MODES) {
    const r = rows[mode];
    console.log(
      `| ${mode} | ${median(r.c1).toFixed(2)} | ${median(r.c64).toFixed(2)} | ${median(r.http).toFixed(1)} |`,
    );
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
