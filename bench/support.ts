/**
 * Process plumbing the benchmarks share: children started by pid and always killed, temporary
 * directories always removed, free loopback ports, a throwaway nats-server; and a sample event.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import type { EventEnvelope } from "../contracts";

export const children: ChildProcess[] = [];
const tmpDirs: string[] = [];

export const alive = (c: ChildProcess) => c.pid !== undefined && c.exitCode === null && c.signalCode === null;
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** SIGTERM each (by pid), SIGKILL what is still there after `graceMs`. */
export async function kill(list: ChildProcess[], graceMs = 3000): Promise<void> {
  await Promise.all(
    list.filter(alive).map(
      (child) =>
        new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            if (alive(child)) process.kill(child.pid!, "SIGKILL");
            resolve();
          }, graceMs);
          child.once("exit", () => {
            clearTimeout(timer);
            resolve();
          });
          process.kill(child.pid!, "SIGTERM");
        }),
    ),
  );
}

// Last resort: whatever way the benchmark ends, nothing it started outlives it.
process.on("exit", () => {
  for (const c of children.filter(alive)) process.kill(c.pid!, "SIGKILL");
  for (const dir of tmpDirs) fs.rmSync(dir, { recursive: true, force: true });
});

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export function reachable(hostPort: string): Promise<boolean> {
  const [host, port] = hostPort.split(",")[0].split(":");
  return new Promise((resolve) => {
    const sock = net.connect(Number(port), host);
    sock.setTimeout(1000);
    sock.once("connect", () => (sock.destroy(), resolve(true)));
    sock.once("error", () => resolve(false));
    sock.once("timeout", () => (sock.destroy(), resolve(false)));
  });
}

/** A temporary directory removed at exit, optionally a copy of `copyOf`. */
export function tmpDir(prefix: string, copyOf?: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tmpDirs.push(dir);
  if (copyOf) fs.cpSync(copyOf, dir, { recursive: true });
  return dir;
}

/** A nats-server with JetStream on a free loopback port; its URL once it answers. */
export async function startNats(): Promise<string> {
  const bin = ["/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server"].find((p) =>
    fs.existsSync(p),
  );
  if (!bin) throw new Error("nats-server not found: apt-get install -y nats-server");
  const port = await freePort();
  children.push(
    spawn(bin, ["-a", "127.0.0.1", "-p", String(port), "-js", "-sd", tmpDir("bench-nats-")], {
      stdio: "ignore",
    }),
  );
  for (let i = 0; i < 100; i++) {
    if (await reachable(`127.0.0.1:${port}`)) return `nats://127.0.0.1:${port}`;
    await sleep(100);
  }
  throw new Error("nats-server did not start");
}

/**
 * Runs a benchmark's main: a deadline, SIGINT/SIGTERM handling, and every child killed however
 * it ends; exits 0, 1 on failure, 2 past the deadline, 130 when interrupted.
 */
export async function runBench(name: string, deadlineMs: number, run: () => Promise<void>): Promise<never> {
  const started = Date.now();
  const deadline = setTimeout(() => {
    console.error(`${name} bench: still running after ${deadlineMs / 1000} s, giving up`);
    void kill(children).finally(() => process.exit(2));
  }, deadlineMs);
  deadline.unref();
  for (const sig of ["SIGINT", "SIGTERM"] as const)
    process.once(sig, () => void kill(children).finally(() => process.exit(130)));
  let code = 0;
  try {
    await run();
  } catch (err) {
    console.error(`${name} bench failed:`, err);
    code = 1;
  } finally {
    await kill(children);
  }
  console.log(`\ndone in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  process.exit(code);
}

/** The i-th of a stream of `order.placed` events (100 customers), for the bridge benches. */
export function orderPlaced(i: number): EventEnvelope<"order.placed"> {
  const orderId = randomUUID();
  return {
    eventId: randomUUID(),
    type: "order.placed",
    version: 1,
    occurredAt: new Date().toISOString(),
    key: orderId,
    data: { orderId, userId: `u${i % 100}`, items: [], total: 1999, currency: "USD" },
  };
}

/** utime + stime of a process in µs, from /proc (Linux clock ticks of 10 ms); 0 once it is gone. */
export function cpuUs(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) * 10_000;
  } catch {
    return 0;
  }
}
