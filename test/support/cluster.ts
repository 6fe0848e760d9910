/**
 * E2E harness: node processes of the real backend (dist/bin/node.js) over the real services that
 * `npm run infra:up` started. With TEST_INFRA unset the suites are skipped (one line says why);
 * with it set, a missing service fails the suite.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";

export const ROOT = path.resolve(__dirname, "..", "..");
export const NODE_BIN = process.execPath;
const INFRA_ENV = process.env.INFRA_ENV_FILE ?? path.join(ROOT, ".infra.env");

export const TEST_INFRA = process.env.TEST_INFRA === "1";

/** `describe` for suites that need the real services (skipped, and said so once, without TEST_INFRA=1). */
export function describeE2E(name: string, fn: () => void): void {
  (TEST_INFRA ? describe : describe.skip)(name, fn);
}

/** The addresses `infra:up` wrote. */
export function infraEnv(): Record<string, string> {
  if (!fs.existsSync(INFRA_ENV)) throw new Error(`${INFRA_ENV} is missing: run \`npm run infra:up\` first`);
  const env: Record<string, string> = {};
  for (const line of fs.readFileSync(INFRA_ENV, "utf8").split("\n")) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (m) env[m[1]] = m[2];
  }
  return env;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.on("error", reject);
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  timeoutMs = 30_000,
  everyMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      lastErr = err;
    }
    await sleep(everyMs);
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? `: ${String(lastErr)}` : ""}`,
  );
}

export class NodeProcess {
  proc?: ChildProcess;
  output = "";

  constructor(
    readonly nodeID: string,
    readonly env: Record<string, string>,
  ) {}

  get pid() {
    return this.proc?.pid;
  }

  start(): this {
    this.proc = spawn(NODE_BIN, [path.join(ROOT, "dist", "bin", "node.js")], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...this.env, NODE_ID: this.nodeID },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const collect = (b: Buffer) => {
      this.output += b.toString();
      if (this.output.length > 2_000_000) this.output = this.output.slice(-1_000_000);
    };
    this.proc.stdout!.on("data", collect);
    this.proc.stderr!.on("data", collect);
    return this;
  }

  get running() {
    return Boolean(this.proc && this.proc.exitCode === null && this.proc.signalCode === null);
  }

  /** Sends the signal and waits for the exit (SIGKILL after timeoutMs). */
  async stop(signal: NodeJS.Signals = "SIGTERM", timeoutMs = 10_000): Promise<number | null> {
    const proc = this.proc;
    if (!proc || !this.running) return proc?.exitCode ?? null;
    const exited = new Promise<number | null>((r) => proc.once("exit", (code) => r(code)));
    proc.kill(signal);
    const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
    const code = await exited;
    clearTimeout(timer);
    return code;
  }
}

/** A set of node processes sharing one namespace and one database, cleaned up together. */
export class Cluster {
  readonly namespace = `t${randomUUID().slice(0, 8)}`;
  readonly nodes: NodeProcess[] = [];
  private infraCache?: Record<string, string>;
  /** Read on first use, so a suite skipped without TEST_INFRA=1 may still build its Cluster. */
  get infra(): Record<string, string> {
    return (this.infraCache ??= infraEnv());
  }
  port = 0;

  constructor(readonly extraEnv: Record<string, string> = {}) {}

  env(services: string[], extra: Record<string, string> = {}): Record<string, string> {
    return {
      TRANSPORTER: this.infra.TRANSPORTER,
      MONGO_URI: this.infra.MONGO_URI.replace(/\/[^/]*$/, `/${this.namespace}`),
      KAFKA_BROKERS: this.infra.KAFKA_BROKERS,
      SMTP_URL: this.infra.SMTP_URL,
      // The shared cache and rate limits as deployed: in the infra's Redis, keys per namespace.
      REDIS_URL: this.infra.REDIS_URL,
      NAMESPACE: this.namespace,
      NODE_ENV: "test",
      LOG_LEVEL: "info",
      DATA_DIR: path.join(ROOT, "data", "e2e", this.namespace),
      SERVICES: services.join(","),
      ...this.extraEnv,
      ...extra,
    };
  }

  /** Starts a node; a node running `api` listens on this cluster's port. */
  async add(nodeID: string, services: string[], extra: Record<string, string> = {}): Promise<NodeProcess> {
    if (services.includes("api") && !this.port) this.port = await freePort();
    const node = new NodeProcess(
      `${this.namespace}-${nodeID}`,
      this.env(services, { PORT: String(this.port), ...extra }),
    );
    this.nodes.push(node.start());
    return node;
  }

  get baseUrl() {
    return `http://127.0.0.1:${this.port}`;
  }

  async waitReady(timeoutMs = 30_000): Promise<void> {
    await waitFor(
      "/health/ready to answer 200",
      async () => (await fetch(`${this.baseUrl}/health/ready`).catch(() => undefined))?.status === 200,
      timeoutMs,
    );
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop("SIGKILL")));
    fs.rmSync(path.join(ROOT, "data", "e2e", this.namespace), { recursive: true, force: true });
  }

  /** All node output, for a failing test's message and for log greps. */
  logs(): string {
    return this.nodes.map((n) => `----- ${n.nodeID}\n${n.output}`).join("\n");
  }

  /** The nodes' last error lines, for the message of a test that met an unexpected 5xx. */
  errorLines(max = 40): string {
    const lines = this.nodes.flatMap((n) =>
      n.output
        .split("\n")
        .filter((l) => /ERROR|Error:|\s{4}at /.test(l))
        .map((l) => `${n.nodeID}: ${l}`),
    );
    return lines.slice(-max).join("\n");
  }
}

/** Runs `scripts/infra/<script>.sh <services>` (e.g. to stop and start NATS during a test). */
export function infraCtl(script: "up" | "down", ...services: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn("bash", [path.join(ROOT, "scripts", "infra", `${script}.sh`), ...services], {
      cwd: ROOT,
      stdio: "pipe",
    });
    let out = "";
    p.stdout.on("data", (b) => (out += b));
    p.stderr.on("data", (b) => (out += b));
    p.on("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`infra ${script} ${services} failed:\n${out}`)),
    );
  });
}
