/**
 * `npm start` in one terminal, `npm run seed` in another, as a new user would: the seed must go
 * through the running backend (which then lists the products at once) rather than write its
 * NeDB files behind its back. Runs the built node and seed (dist/) as child processes.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { announceBackend, runningBackend } from "../../lib/running-backend";
import { NodeProcess, ROOT, freePort, waitFor } from "../support/cluster";

function run(script: string, env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child: ChildProcess = spawn(process.execPath, [path.join(ROOT, "dist", script)], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? "", ...env },
    });
    let out = "";
    child.stdout!.on("data", (b) => (out += b));
    child.stderr!.on("data", (b) => (out += b));
    child.on("exit", (code) => resolve({ code, out }));
  });
}

describe("npm run seed beside a running embedded backend", () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "shop-seed-"));
  let node: NodeProcess;
  let base: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    const port = await freePort();
    env = { DATA_DIR: dataDir, PORT: String(port), NODE_ENV: "test", LOG_LEVEL: "warn" };
    node = new NodeProcess("seed-backend", env).start();
    base = `http://127.0.0.1:${port}`;
    await waitFor(
      "the backend to be ready",
      async () => (await fetch(`${base}/health/ready`)).status === 200,
    );
    await waitFor("the backend to announce itself", async () => runningBackend(dataDir) !== null);
  }, 60_000);

  afterAll(async () => {
    await node?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it("should create the catalogue through the backend, which lists it without a restart", async () => {
    const seeded = await run("scripts/seed.js", env);
    expect(seeded).toMatchObject({ code: 0 });
    expect(seeded.out).toContain("seeding through its API");
    expect(seeded.out).toContain("Seeded: 240 created, 0 already there");
    const page: any = await (await fetch(`${base}/api/products?category=apparel&pageSize=100`)).json();
    expect(page.total).toBe(24);
    expect(page.rows[0].variants).toHaveLength(12);
    expect(page.rows[0].options.map((o: any) => o.name)).toEqual(["Size", "Color"]);
  }, 120_000);

  it("should create nothing the second time", async () => {
    const again = await run("scripts/seed.js", env);
    expect(again.out).toContain("Seeded: 0 created, 240 already there");
    const all: any = await (await fetch(`${base}/api/products?pageSize=1`)).json();
    expect(all.total).toBe(240);
  }, 120_000);

  it("should take the backend's record away when it stops", async () => {
    await node.stop();
    expect(runningBackend(dataDir)).toBeNull();
    expect(fs.existsSync(path.join(dataDir, "backend.json"))).toBe(false);
  });
});

describe("the running-backend record", () => {
  it("should ignore a record whose process no longer runs", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "shop-running-"));
    fs.writeFileSync(path.join(dir, "backend.json"), JSON.stringify({ pid: 2 ** 22 + 1, port: 1 }));
    expect(runningBackend(dir)).toBeNull();
    announceBackend(dir, 3000)();
    expect(fs.existsSync(path.join(dir, "backend.json"))).toBe(false);
  });
});
