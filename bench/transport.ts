/**
 * Transport benchmark: what does a Moleculer call cost in-process, over NATS, and through
 * moleculer-web, compared with raw nats.js and raw node:http?
 *
 *   npm run build && node dist/bench/transport.js      (npm run bench:transport)
 *
 * One run starts its own nats-server (JetStream on, loopback, free port), spawns two helper
 * processes (dist/bench/echo-node.js: "echo" and "web"), measures, prints a table and the ratios,
 * and kills every process it started, by pid, also on error. Whole run < 2 minutes.
 *
 *   a) `echo.echo` in-process (one broker, no transporter)
 *   b) `echo.echo` on the echo process over NATS
 *   c) raw nats.js `request()` to a responder in the echo process that returns the request bytes
 *   d) HTTP GET /hello (autocannon, in this process): raw node:http, moleculer-web -> local action,
 *      moleculer-web -> action on the echo process over NATS (servers in the "web" process)
 * a-c at concurrency 1 and 64, each after a warm-up. Besides req/s and latency, every row shows
 * the CPU time (user + system, from /proc) that the processes doing the work spent per request:
 * on a shared, noisy machine that is steadier than req/s. For HTTP this process (autocannon) is
 * not counted.
 *
 * Environment:
 *   BENCH_DURATION_MS    a-c: measured time per row (default 3000)
 *   BENCH_HTTP_SECONDS   d: seconds per row (default 5); BENCH_HTTP_CONNECTIONS (default 50)
 *   BENCH_ONLY=a,d       run only some parts
 *   BENCH_BROKER, BENCH_OVERRIDES, BENCH_WEB_LOGGING: broker / gateway options of every broker
 *                        (see bench/echo-node.ts; they reach the helper processes too)
 *   BENCH_VARIANT='{"metrics":{"enabled":false}}': A/B rows: an in-process broker (a) and a local
 *                        gateway (d) with these broker options on top, measured alongside
 *   BENCH_NATS_OPTIONS='{"noAsyncTraces":true}': connection options of the raw nats.js client (c)
 *   BENCH_HTTP_ROUNDS=3  d: interleave the targets in rounds; ratios then use medians
 *   BENCH_DEADLINE_S     give up (and clean up) after this many seconds (default 115)
 *   METRICS=off|basic|full  the project's metrics setting for every broker (default basic)
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { ServiceBroker } from "moleculer";
import { connect, type NatsConnection } from "nats";
import { EchoService, HELLO, benchBrokerOptions } from "./echo-node";
import { freePort } from "./support";

const autocannon: (opts: Record<string, unknown>) => Promise<any> = require("autocannon");

const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 3000);
const WARMUP_MS = 500;
const HTTP_SECONDS = Number(process.env.BENCH_HTTP_SECONDS ?? 5);
const HTTP_CONNECTIONS = Number(process.env.BENCH_HTTP_CONNECTIONS ?? 50);
const HTTP_ROUNDS = Number(process.env.BENCH_HTTP_ROUNDS ?? 1);
/** Broker options of the A/B "variant" rows (JSON, see bench/echo-node.ts); none by default. */
const VARIANT = process.env.BENCH_VARIANT;
const DEADLINE_MS = Number(process.env.BENCH_DEADLINE_S ?? 115) * 1000;
const PAYLOAD = { msg: "hello", n: 42 };
/** BENCH_ONLY=a,b,c,d runs only those parts (for investigating one ratio); default all. */
const ONLY = new Set((process.env.BENCH_ONLY ?? "a,b,c,d").split(",").map((s) => s.trim()));

interface Row {
  /** The scenario, the same in every round. */
  name: string;
  /** As printed: the name, plus the round number when there are several rounds. */
  scenario: string;
  concurrency: number;
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  errors: number;
  /** CPU time (user + system) of the processes doing the work, per request, in microseconds. */
  cpuUs: number;
}

// ---------------------------------------------------------------- processes we started

const children: ChildProcess[] = [];
const tmpDirs: string[] = [];

function track(child: ChildProcess, name: string): ChildProcess {
  children.push(child);
  child.on("error", (err) => console.error(`${name} (pid ${child.pid}):`, err.message));
  return child;
}

function alive(child: ChildProcess) {
  return child.pid !== undefined && child.exitCode === null && child.signalCode === null;
}

/**
 * SIGTERM every child by pid, newest first (the nodes before their nats-server), SIGKILL whatever
 * is still there after 3 s.
 */
async function killChildren() {
  for (const child of [...children].reverse().filter(alive))
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        if (alive(child)) process.kill(child.pid!, "SIGKILL");
        resolve();
      }, 3000);
      child.once("exit", () => {
        clearTimeout(timer);
        resolve();
      });
      try {
        process.kill(child.pid!, "SIGTERM");
      } catch {
        clearTimeout(timer);
        resolve();
      }
    });
  for (const dir of tmpDirs) fs.rmSync(dir, { recursive: true, force: true });
}

// Last resort (synchronous): the process exits without having gone through killChildren.
process.on("exit", () => {
  for (const child of children)
    if (alive(child))
      try {
        process.kill(child.pid!, "SIGKILL");
      } catch {
        /* already gone */
      }
  for (const dir of tmpDirs) fs.rmSync(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------- CPU accounting

/** Clock ticks per second of /proc/<pid>/stat (CLK_TCK; 100 on every Linux we run on). */
const CLK_TCK = 100;

/** utime + stime of a process in microseconds, from /proc (Linux); NaN when unavailable. */
function cpuOf(pid: number): number {
  if (pid === process.pid) {
    const u = process.cpuUsage();
    return u.user + u.system;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLK_TCK;
  } catch {
    return NaN;
  }
}

/**
 * The processes whose CPU a scenario is charged: every child we started (nats-server and both
 * echo-node processes, idle ones cost next to nothing) plus this process, except for HTTP where
 * this process is only the load generator (autocannon).
 */
function cpuSnapshot(includeSelf: boolean): number {
  const pids = children.filter(alive).map((c) => c.pid!);
  if (includeSelf) pids.push(process.pid);
  return pids.reduce((sum, pid) => sum + cpuOf(pid), 0);
}

// ---------------------------------------------------------------- helpers

async function waitForPort(port: number, child: ChildProcess, timeoutMs: number) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (!alive(child)) throw new Error(`process ${child.pid} exited before listening on ${port}`);
    const ok = await new Promise<boolean>((resolve) => {
      const sock = net.connect(port, "127.0.0.1");
      sock.once("connect", () => {
        sock.destroy();
        resolve(true);
      });
      sock.once("error", () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
}

function which(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(path.delimiter).concat("/usr/sbin", "/usr/local/bin")) {
    const p = path.join(dir, cmd);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return undefined;
}

async function startNats(): Promise<string> {
  const bin = which("nats-server");
  if (!bin) throw new Error("nats-server not found: apt-get update && apt-get install -y nats-server");
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-nats-"));
  tmpDirs.push(dir);
  const stderr: string[] = [];
  const child = track(
    spawn(bin, ["-a", "127.0.0.1", "-p", String(port), "-js", "-sd", dir], {
      stdio: ["ignore", "ignore", "pipe"],
    }),
    "nats-server",
  );
  child.stderr!.on("data", (d) => stderr.push(String(d)));
  try {
    await waitForPort(port, child, 10_000);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${stderr.join("").slice(-2000)}`, { cause: err });
  }
  return `nats://127.0.0.1:${port}`;
}

/** Spawns dist/bench/echo-node.js <role> and waits for its IPC "ready" message. */
function spawnNode(role: "echo" | "web", env: Record<string, string>): Promise<ChildProcess> {
  const child = track(
    spawn(process.execPath, [path.join(__dirname, "echo-node.js"), role], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    }),
    `echo-node ${role}`,
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`echo-node ${role} not ready after 30 s`)), 30_000);
    child.once("message", () => {
      clearTimeout(timer);
      resolve(child);
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`echo-node ${role} exited (${code ?? signal}) before it was ready`));
    });
  });
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** `concurrency` loops calling `fn` back to back for `durationMs`; latency of every call. */
async function loadLoop(
  concurrency: number,
  durationMs: number,
  fn: () => Promise<unknown>,
): Promise<{ latencies: Float64Array; errors: number; elapsed: number }> {
  const latencies: number[] = [];
  let errors = 0;
  const start = performance.now();
  const end = start + durationMs;
  const worker = async () => {
    for (let t0 = performance.now(); t0 < end; t0 = performance.now()) {
      try {
        await fn();
        latencies.push(performance.now() - t0);
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = performance.now() - start;
  return { latencies: Float64Array.from(latencies).sort(), errors, elapsed };
}

async function measure(name: string, concurrency: number, fn: () => Promise<unknown>): Promise<Row> {
  await loadLoop(concurrency, WARMUP_MS, fn);
  const cpu0 = cpuSnapshot(true);
  const { latencies, errors, elapsed } = await loadLoop(concurrency, DURATION_MS, fn);
  const cpu = cpuSnapshot(true) - cpu0;
  const row: Row = {
    name,
    scenario: name,
    concurrency,
    rps: (latencies.length / elapsed) * 1000,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    requests: latencies.length,
    errors,
    cpuUs: cpu / latencies.length,
  };
  printRow(row);
  // Let pending I/O (heartbeats, GC) settle between scenarios.
  await new Promise((r) => setTimeout(r, 200));
  return row;
}

async function measureHttp(name: string, url: string, round?: number): Promise<Row> {
  const scenario = round ? `${name} #${round}` : name;
  const res = await fetch(url);
  const body = await res.text();
  if (res.status !== 200 || JSON.stringify(JSON.parse(body)) !== JSON.stringify(HELLO))
    throw new Error(`${scenario}: GET ${url} answered ${res.status} ${body}`);
  await autocannon({ url, connections: HTTP_CONNECTIONS, duration: 1 });
  const cpu0 = cpuSnapshot(false);
  const r = await autocannon({ url, connections: HTTP_CONNECTIONS, duration: HTTP_SECONDS });
  const cpu = cpuSnapshot(false) - cpu0;
  const row: Row = {
    name,
    scenario,
    concurrency: HTTP_CONNECTIONS,
    rps: r.requests.total / HTTP_SECONDS,
    p50: r.latency.p50,
    p99: r.latency.p99,
    requests: r.requests.total,
    errors: r.errors + r.timeouts + r.non2xx,
    cpuUs: cpu / r.requests.total,
  };
  printRow(row);
  await new Promise((res) => setTimeout(res, 200));
  return row;
}

const COLS = ["scenario", "conc", "req/s", "p50 ms", "p99 ms", "requests", "errors", "CPU µs/req"];
const WIDTHS = [38, 5, 9, 8, 8, 9, 6, 10];

function cells(row: Row): string[] {
  return [
    row.scenario,
    String(row.concurrency),
    row.rps.toFixed(0),
    row.p50.toFixed(3),
    row.p99.toFixed(3),
    String(row.requests),
    String(row.errors),
    row.cpuUs.toFixed(1),
  ];
}

function line(values: string[]) {
  return (
    "| " + values.map((v, i) => (i === 0 ? v.padEnd(WIDTHS[i]) : v.padStart(WIDTHS[i]))).join(" | ") + " |"
  );
}

let headerPrinted = false;
function printRow(row: Row) {
  if (!headerPrinted) {
    console.log(line(COLS));
    console.log(
      "|" + WIDTHS.map((w, i) => (i === 0 ? "-".repeat(w + 2) : "-".repeat(w + 1) + ":")).join("|") + "|",
    );
    headerPrinted = true;
  }
  console.log(line(cells(row)));
}

// ---------------------------------------------------------------- the run

async function run() {
  const namespace = `bench-${process.pid}-${Date.now().toString(36)}`;
  const rawSubject = `${namespace}.raw.echo`;
  console.log(
    `transport bench: node ${process.version}, ${os.cpus().length} cpu(s), ` +
      `broker options: ${process.env.BENCH_BROKER ?? "project"}` +
      (process.env.BENCH_BROKER === "plain" ? "" : `, METRICS=${process.env.METRICS ?? "basic (default)"}`) +
      (process.env.BENCH_OVERRIDES ? ` + ${process.env.BENCH_OVERRIDES}` : "") +
      (process.env.BENCH_WEB_LOGGING === "1" ? ", gateway request logging on" : "") +
      (VARIANT ? `; variant rows: + ${VARIANT}` : ""),
  );
  console.log(
    `calls: ${WARMUP_MS} ms warm-up + ${DURATION_MS} ms each; HTTP: autocannon ${HTTP_CONNECTIONS} ` +
      `connections, 1 s warm-up + ${HTTP_SECONDS} s each` +
      (HTTP_ROUNDS > 1 ? `, ${HTTP_ROUNDS} interleaved rounds (ratios from medians)` : "") +
      "\n",
  );

  const transporter = await startNats();
  const ports = [await freePort(), await freePort(), await freePort()];
  if (VARIANT) ports.push(await freePort());
  const [rawPort, localPort, remotePort, variantPort] = ports;
  const common = { TRANSPORTER: transporter, NAMESPACE: namespace };
  await spawnNode("echo", { ...common, BENCH_RAW_SUBJECT: rawSubject });
  await spawnNode("web", { ...common, BENCH_PORTS: ports.join(",") });

  const local = new ServiceBroker(benchBrokerOptions(`${namespace}-bench-local`, namespace));
  local.createService(EchoService);
  const localVariant = VARIANT
    ? new ServiceBroker(benchBrokerOptions(`${namespace}-bench-variant`, namespace, undefined, true))
    : undefined;
  localVariant?.createService(EchoService);
  const remote = new ServiceBroker(benchBrokerOptions(`${namespace}-bench-remote`, namespace, transporter));
  let nc: NatsConnection | undefined;
  const rows: Row[] = [];
  try {
    await local.start();
    await localVariant?.start();
    await remote.start();
    await remote.waitForServices(["echo"], 20_000);
    // BENCH_NATS_OPTIONS='{"noAsyncTraces":true}': connection options of the raw nats.js client (c).
    nc = await connect({
      servers: new URL(transporter).host,
      ...JSON.parse(process.env.BENCH_NATS_OPTIONS || "{}"),
    });

    const check = (result: unknown, what: string) => {
      if (JSON.stringify(result) !== JSON.stringify(PAYLOAD)) throw new Error(`${what} echoed ${result}`);
    };
    const callLocal = () => local.call("echo.echo", PAYLOAD);
    const callRemote = () => remote.call("echo.echo", PAYLOAD);
    const callRaw = async () => JSON.parse((await nc!.request(rawSubject, JSON.stringify(PAYLOAD))).string());
    check(await callLocal(), "in-process echo");
    check(await callRemote(), "remote echo");
    check(await callRaw(), "raw NATS echo");
    if (remote.registry.getLocalNodeInfo().services.some((s: any) => s.name === "echo"))
      throw new Error("the remote client broker must not run echo itself");

    for (const c of ONLY.has("a") ? [1, 64] : []) {
      rows.push(await measure("a) moleculer in-process", c, callLocal));
      if (localVariant)
        rows.push(
          await measure("a) moleculer in-process, variant", c, () => localVariant.call("echo.echo", PAYLOAD)),
        );
    }
    for (const c of ONLY.has("b") ? [1, 64] : [])
      rows.push(await measure("b) moleculer over NATS", c, callRemote));
    for (const c of ONLY.has("c") ? [1, 64] : [])
      rows.push(await measure("c) raw nats.js request/reply", c, callRaw));
    if (ONLY.has("d")) {
      const targets: Array<[string, string]> = [
        ["d) raw node:http", `http://127.0.0.1:${rawPort}/`],
        ["d) moleculer-web -> local action", `http://127.0.0.1:${localPort}/hello`],
        ...(variantPort
          ? [["d) moleculer-web -> local, variant", `http://127.0.0.1:${variantPort}/hello`]]
          : []),
        ["d) moleculer-web -> NATS -> action", `http://127.0.0.1:${remotePort}/hello`],
      ] as Array<[string, string]>;
      for (let round = 1; round <= HTTP_ROUNDS; round++)
        for (const [name, url] of targets)
          rows.push(await measureHttp(name, url, HTTP_ROUNDS > 1 ? round : undefined));
    }
  } finally {
    await nc?.close().catch(() => undefined);
    await remote.stop().catch(() => undefined);
    await local.stop().catch(() => undefined);
    await localVariant?.stop().catch(() => undefined);
  }

  /** Median over the rounds of one scenario (a single row when there is one round). */
  const median = (xs: number[]) => {
    const s = [...xs].sort((x, y) => x - y);
    return s.length ? (s[(s.length - 1) >> 1] + s[s.length >> 1]) / 2 : NaN;
  };
  const pick = (name: string, c: number) => {
    const of = rows.filter((r) => r.name === name && r.concurrency === c);
    return of.length
      ? { rps: median(of.map((r) => r.rps)), cpuUs: median(of.map((r) => r.cpuUs)) }
      : undefined;
  };
  const ratio = (label: string, r: number, target?: number) => {
    if (Number.isNaN(r)) return;
    const verdict = target === undefined ? "" : `  (target >= ${target}: ${r >= target ? "met" : "MISSED"})`;
    console.log(`  ${label.padEnd(50)} ${r.toFixed(2)}${verdict}`);
  };
  const H = HTTP_CONNECTIONS;
  const [A, AV, B, C] = [
    "a) moleculer in-process",
    "a) moleculer in-process, variant",
    "b) moleculer over NATS",
    "c) raw nats.js request/reply",
  ];
  const [RAW, WEB, WEBV, WEBR] = [
    "d) raw node:http",
    "d) moleculer-web -> local action",
    "d) moleculer-web -> local, variant",
    "d) moleculer-web -> NATS -> action",
  ];
  const pairs: Array<[string, string, number, string, number, number?]> = [
    ["remote moleculer / raw NATS, concurrency 64", B, 64, C, 64, 0.6],
    ["remote moleculer / raw NATS, concurrency 1", B, 1, C, 1],
    ["remote moleculer / in-process, concurrency 64", B, 64, A, 64],
    ["moleculer-web local / raw node:http", WEB, H, RAW, H, 0.5],
    ["moleculer-web remote / moleculer-web local", WEBR, H, WEB, H],
    ["in-process variant / in-process, concurrency 64", AV, 64, A, 64],
    ["moleculer-web local variant / raw node:http", WEBV, H, RAW, H, 0.5],
    ["moleculer-web local variant / moleculer-web local", WEBV, H, WEB, H],
  ];
  console.log("\nratios of req/s (the targets):");
  for (const [label, a, ca, b, cb, target] of pairs)
    ratio(label, (pick(a, ca)?.rps ?? NaN) / (pick(b, cb)?.rps ?? NaN), target);
  console.log(
    "same ratios from CPU per request (denominator's CPU/req ÷ numerator's; immune to other load):",
  );
  for (const [label, a, ca, b, cb] of pairs)
    ratio(label, (pick(b, cb)?.cpuUs ?? NaN) / (pick(a, ca)?.cpuUs ?? NaN));
}

async function main() {
  const started = Date.now();
  const deadline = setTimeout(() => {
    console.error(`transport bench: still running after ${DEADLINE_MS / 1000} s, giving up`);
    void killChildren().finally(() => process.exit(2));
  }, DEADLINE_MS);
  deadline.unref();
  for (const sig of ["SIGINT", "SIGTERM"] as const)
    process.once(sig, () => void killChildren().finally(() => process.exit(130)));

  let code = 0;
  try {
    await run();
  } catch (err) {
    console.error("transport bench failed:", err);
    code = 1;
  } finally {
    await killChildren();
  }
  console.log(`\ndone in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  process.exit(code);
}

main();
