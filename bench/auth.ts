/**
 * Auth benchmark: what does verifying an access token cost, and what does a login cost?
 *
 *   npm run build && node dist/bench/auth.js      (npm run bench:auth)
 *
 * Starts one node process (dist/bin/node.js: api, tokens and users, embedded NeDB store in a
 * throwaway DATA_DIR, limits raised out of the way), signs one user up, then on that one gateway,
 * over 127.0.0.1, with autocannon:
 *   1. GET /health/live, the authenticated GET /api/user/me and, for reference, the public
 *      GET /api/.well-known/jwks.json (same /api route, no token), in three rounds (A B C A B C
 *      A B C) after a warm-up so drift affects all; the ratio me/live of the mean req/s must be
 *      >= 0.8. The node's CPU time per request is shown too: the same comparison, less disturbed
 *      by whatever else runs on the machine;
 *   2. POST /api/user/login with the right password: argon2id (19 MiB, t=2) is slow on purpose.
 * Kills the node it started, by pid, also on error; the whole run is bounded (< 2 minutes).
 *
 * Environment: BENCH_SECONDS (each HTTP run, default 5), BENCH_CONNECTIONS (default 50),
 * BENCH_LOGIN_CONNECTIONS (default 8).
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { cpuUs, freePort } from "./support";

const autocannon: (opts: Record<string, unknown>) => Promise<any> = require("autocannon");

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const LOGIN_CONNECTIONS = Number(process.env.BENCH_LOGIN_CONNECTIONS ?? 8);
const DEADLINE_MS = 115_000;
const MIN_RATIO = 0.8;
const ROUNDS = 3;
const ROOT = path.resolve(__dirname, "..", "..");

let node: ChildProcess | undefined;
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-auth-"));

function cleanup() {
  if (node?.pid && node.exitCode === null && node.signalCode === null) process.kill(node.pid, "SIGKILL");
  fs.rmSync(dataDir, { recursive: true, force: true });
}
process.on("exit", cleanup);

async function startNode(port: number): Promise<string> {
  node = spawn(process.execPath, [path.join(ROOT, "dist", "bin", "node.js")], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? "",
      NODE_ENV: "test",
      LOG_LEVEL: "warn",
      PORT: String(port),
      SERVICES: "api,tokens,users",
      DATA_DIR: dataDir,
      RATE_LIMIT_PER_MINUTE: "10000000",
      AUTH_RATE_LIMIT_PER_MINUTE: "10000000",
    },
    stdio: ["ignore", "inherit", "inherit"],
  });
  const base = `http://127.0.0.1:${port}`;
  const until = Date.now() + 30_000;
  while (Date.now() < until) {
    // jwks answers once `tokens` runs; `me` answers 401 (not 503) once `users` runs.
    const status = (p: string) =>
      fetch(base + p).then(
        (r) => r.status,
        () => 0,
      );
    if ((await status("/api/.well-known/jwks.json")) === 200 && (await status("/api/user/me")) === 401)
      return base;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error("the node did not answer within 30 s");
}

interface Row {
  scenario: string;
  connections: number;
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  non2xx: number;
  errors: number;
  /** CPU time (user + system) of the node process per request, in microseconds. */
  cpuUs: number;
}

async function run(scenario: string, opts: Record<string, unknown>, connections = CONNECTIONS): Promise<Row> {
  const cpu0 = cpuUs(node!.pid!);
  const r = await autocannon({ duration: SECONDS, connections, ...opts });
  const cpu = cpuUs(node!.pid!) - cpu0;
  return {
    scenario,
    connections,
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    requests: r.requests.total,
    non2xx: r.non2xx,
    errors: r.errors + r.timeouts,
    cpuUs: Math.round(cpu / Math.max(1, r.requests.total)),
  };
}

function table(rows: Row[]): string {
  const head =
    "| scenario | conns | req/s | p50 ms | p99 ms | requests | non-2xx | errors | node CPU µs/req |";
  const sep = "|---|---:|---:|---:|---:|---:|---:|---:|---:|";
  const lines = rows.map(
    (r) =>
      `| ${r.scenario} | ${r.connections} | ${Math.round(r.rps)} | ${r.p50} | ${r.p99} | ${r.requests} | ${r.non2xx} | ${r.errors} | ${r.cpuUs} |`,
  );
  return [head, sep, ...lines].join("\n");
}

async function main() {
  const deadline = setTimeout(() => {
    console.error(`bench:auth exceeded ${DEADLINE_MS} ms; stopping`);
    process.exit(2);
  }, DEADLINE_MS);

  const base = await startNode(await freePort());
  const user = { email: `bench-${Date.now()}@shop.test`, password: "bench password 1", name: "Bench" };
  const signup = await fetch(`${base}/api/user/signup`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(user),
  });
  if (signup.status !== 201) throw new Error(`signup answered ${signup.status}`);
  const { accessToken } = (await signup.json()) as { accessToken: string };

  const live = { url: `${base}/health/live` };
  const me = { url: `${base}/api/user/me`, headers: { authorization: `Bearer ${accessToken}` } };
  // Same /api route as `me` (body parser, rate limit, auth hooks), no token, no users call: it
  // splits the gap between live and me into "the /api route" and "token + profile".
  const jwks = { url: `${base}/api/.well-known/jwks.json` };
  // Warm-up: every path JIT-compiled and the profile cached before anything is measured.
  for (const target of [live, me, jwks])
    await autocannon({ ...target, duration: 3, connections: CONNECTIONS });

  const rows: Row[] = [];
  for (let i = 1; i <= ROUNDS; i++) {
    rows.push(await run(`GET /health/live (${i})`, live));
    rows.push(await run(`GET /api/user/me, Bearer (${i})`, me));
    rows.push(await run(`GET /api/.well-known/jwks.json (${i})`, jwks));
  }
  const login = await run(
    "POST /api/user/login",
    {
      url: `${base}/api/user/login`,
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: user.email, password: user.password }),
    },
    LOGIN_CONNECTIONS,
  );
  rows.push(login);

  const mean = (prefix: string) => {
    const picked = rows.filter((r) => r.scenario.startsWith(prefix));
    return picked.reduce((n, r) => n + r.rps, 0) / picked.length;
  };
  const ratio = mean("GET /api/user/me") / mean("GET /health/live");
  const cpuOf = (prefix: string) => {
    const picked = rows.filter((r) => r.scenario.startsWith(prefix));
    return picked.reduce((n, r) => n + r.cpuUs, 0) / picked.length;
  };
  const cpuRatio = cpuOf("GET /health/live") / cpuOf("GET /api/user/me");
  const jwksRatio = mean("GET /api/user/me") / mean("GET /api/.well-known/jwks.json");
  const failed = rows.some((r) => r.non2xx > 0 || r.errors > 0);

  console.log(
    `\nbench:auth on ${os.cpus().length} CPUs (${os.cpus()[0]?.model}), node ${process.version}, ${SECONDS} s per run\n`,
  );
  console.log(table(rows));
  console.log(
    `\nratio me/live (mean req/s): ${ratio.toFixed(2)} (required >= ${MIN_RATIO}) -> ${ratio >= MIN_RATIO ? "PASS" : "FAIL"}`,
  );
  console.log(
    `ratio me/jwks (mean req/s): ${jwksRatio.toFixed(2)} (what the token check and the profile cost on the /api route)`,
  );
  console.log(
    `CPU cost ratio live/me (node CPU per request): ${cpuRatio.toFixed(2)} (the same comparison, less sensitive to other load)`,
  );
  console.log(
    `login: ${Math.round(login.rps)} req/s, p50 ${login.p50} ms with ${LOGIN_CONNECTIONS} connections (argon2id m=19456 KiB, t=2, p=1)`,
  );
  if (failed) console.log("some requests failed (non-2xx or errors): the figures are not valid");

  clearTimeout(deadline);
  cleanup();
  process.exit(ratio >= MIN_RATIO && !failed ? 0 : 1);
}

main().catch((err) => {
  console.error(err);
  cleanup();
  process.exit(1);
});
