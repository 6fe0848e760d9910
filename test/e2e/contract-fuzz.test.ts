/**
 * Contract fuzzing: Schemathesis (scripts/contract-fuzz.sh: all checks, 100 examples per
 * operation, signed in as a customer and as the admin) against the embedded backend and against a
 * cluster over NATS and the MongoDB-compatible store. Any finding fails the test with the report.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Cluster, NodeProcess, ROOT, describeE2E, freePort, waitFor } from "../support/cluster";

const ADMIN = { email: "fuzz-admin@shop.test", password: "fuzz-admin-password" };
/** Limits lifted so that thousands of requests from one client are all answered. */
const SETTINGS = {
  ADMIN_EMAIL: ADMIN.email,
  ADMIN_PASSWORD: ADMIN.password,
  RATE_LIMIT_PER_MINUTE: "10000000",
  AUTH_RATE_LIMIT_PER_MINUTE: "10000000",
  LOGIN_MAX_FAILURES: "1000000",
  ACCESS_TOKEN_TTL: "86400",
  LOG_LEVEL: "warn",
};
/** Seconds one Schemathesis run (one role) may take before it is killed. */
const RUN_TIMEOUT_S = 240;
const TEST_TIMEOUT_MS = (2 * RUN_TIMEOUT_S + 120) * 1000;

function contractFuzz(base: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const p = spawn("bash", [path.join(ROOT, "scripts", "contract-fuzz.sh"), base], {
      cwd: ROOT,
      env: { ...process.env, ...SETTINGS, FUZZ_TIMEOUT: String(RUN_TIMEOUT_S) },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    p.stdout.on("data", (b) => (output += b));
    p.stderr.on("data", (b) => (output += b));
    p.on("exit", (code) => resolve({ code, output }));
  });
}

/** Fails with Schemathesis' report (and the end of the nodes' logs) unless it found nothing. */
async function expectNothingFound(base: string, logs: () => string): Promise<void> {
  const { code, output } = await contractFuzz(base);
  if (code !== 0)
    throw new Error(
      `Schemathesis found something (exit ${code}):\n${output}\n----- node logs (end)\n${logs().slice(-5000)}`,
    );
  expect(output).toMatch(/contract-fuzz: nothing found/);
}

describeE2E("contract fuzzing with Schemathesis", () => {
  it(
    "should find nothing against the embedded backend",
    async () => {
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "shop-fuzz-"));
      const port = await freePort();
      const node = new NodeProcess("fuzz-embedded", {
        ...SETTINGS,
        NODE_ENV: "test",
        DATA_DIR: dataDir,
        PORT: String(port),
      }).start();
      const base = `http://127.0.0.1:${port}`;
      try {
        await waitFor(
          "the embedded node to be ready",
          async () => (await fetch(`${base}/health/ready`).catch(() => undefined))?.status === 200,
          60_000,
        );
        await expectNothingFound(base, () => node.output);
      } finally {
        await node.stop("SIGKILL");
        fs.rmSync(dataDir, { recursive: true, force: true });
      }
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "should find nothing against a cluster: a gateway node and service nodes over NATS",
    async () => {
      const cluster = new Cluster(SETTINGS);
      try {
        await cluster.add("gateway", ["api"]);
        await cluster.add("identity", ["users", "tokens"]);
        await cluster.add("catalog", ["products", "inventory", "pricing"]);
        await cluster.add("checkout", ["carts", "orders", "payments", "notifications"]);
        await cluster.add("extras", ["webhooks", "recommendations"]);
        await cluster.waitReady(90_000);
        await expectNothingFound(cluster.baseUrl, () => cluster.logs());
      } finally {
        await cluster.stopAll();
      }
    },
    TEST_TIMEOUT_MS,
  );
});
