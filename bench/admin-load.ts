/**
 * The admin app's first load in headless Chromium (Debian's `chromium`, playwright-core): bytes
 * transferred (compressed, as on the wire) and time to interactive, cold (empty cache, new
 * context) and warm (same context, hashed assets from cache), next to the API docs page (Swagger
 * UI) loaded the same way in the same run as a baseline. One embedded node (`dist/bin/node.js`,
 * NeDB in a temporary DATA_DIR) on a free loopback port; everything it started is killed by pid.
 *
 * Time to interactive: from navigation start to the later of (a) the sign-in form accepting
 * typed text and (b) the end of the last long task (> 50 ms) seen before 2 s of quiet.
 */
import fs from "node:fs";
import path from "node:path";
import { spawn } from "node:child_process";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { children, freePort, runBench, sleep, tmpDir } from "./support";

const CHROMIUM = "/usr/bin/chromium";
const RUNS = Number(process.env.RUNS ?? 5);
const ADMIN = { email: "bench-admin@shop.test", password: "bench-admin-password" };

interface Load {
  bytes: number;
  requests: number;
  ttiMs: number;
  /** Main-thread task time until ready (CDP Performance.TaskDuration): steadier than TTI on a busy machine. */
  busyMs: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Loads `url`, waits for `ready` (a check that the page is usable), sums what came over the wire. */
async function load(
  context: BrowserContext,
  url: string,
  ready: (page: Page) => Promise<void>,
): Promise<Load> {
  const page = await context.newPage();
  // Runs in the page (a string: this file is compiled without the DOM's types).
  await page.addInitScript(`
    window.__longTasks = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) window.__longTasks.push(e.startTime + e.duration);
    }).observe({ type: "longtask", buffered: true });
  `);
  const sizes: Promise<number>[] = [];
  page.on("requestfinished", (req) =>
    sizes.push(
      req
        .sizes()
        .then((s) => s.responseBodySize + s.responseHeadersSize)
        .catch(() => 0),
    ),
  );
  const cdp = await context.newCDPSession(page);
  await cdp.send("Performance.enable");
  await page.goto(url);
  await ready(page);
  const readyAt: number = await page.evaluate("performance.now()");
  const { metrics } = await cdp.send("Performance.getMetrics");
  const busyMs = 1000 * (metrics.find((m) => m.name === "TaskDuration")?.value ?? 0);
  await sleep(2000);
  const lastLongTask: number = await page.evaluate("Math.max(0, ...window.__longTasks)");
  const bytes = (await Promise.all(sizes)).reduce((a, b) => a + b, 0);
  const requests = sizes.length;
  await page.close();
  return { bytes, requests, ttiMs: Math.max(readyAt, lastLongTask), busyMs };
}

async function signInForm(page: Page) {
  const input = page.locator('input[name="username"]');
  await input.fill("typed");
  if ((await input.inputValue()) !== "typed") throw new Error("the sign-in form did not take input");
}

async function docsRendered(page: Page) {
  await page.waitForSelector(".swagger-ui .opblock", { timeout: 30_000 });
}

function row(name: string, loads: Load[]) {
  const kb = (n: number) => (n / 1024).toFixed(1);
  const tti = loads.map((l) => l.ttiMs);
  return `| ${name} | ${kb(median(loads.map((l) => l.bytes)))} | ${median(loads.map((l) => l.requests))} | ${median(tti).toFixed(0)} | ${Math.min(...tti).toFixed(0)}–${Math.max(...tti).toFixed(0)} | ${median(loads.map((l) => l.busyMs)).toFixed(0)} |`;
}

void runBench("admin-load", 300_000, async () => {
  const root = path.resolve(__dirname, "..", "..");
  if (!fs.existsSync(path.join(root, "dist", "admin", "index.html")))
    throw new Error("run `npm run build` first");
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const node = spawn(process.execPath, [path.join(root, "dist", "bin", "node.js")], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? "",
      PORT: String(port),
      DATA_DIR: tmpDir("bench-admin-"),
      NODE_ENV: "test",
      LOG_LEVEL: "warn",
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
    },
    stdio: "ignore",
  });
  children.push(node);
  for (let i = 0; ; i++) {
    const ok = await fetch(`${base}/health/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (i > 300) throw new Error("the node did not become ready");
    await sleep(100);
  }

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking"],
  });
  try {
    const results: Record<string, Load[]> = { admin: [], adminWarm: [], docs: [], docsWarm: [] };
    for (let i = 0; i < RUNS; i++) {
      // Alternate which page goes first, so neither always meets a colder machine.
      const order = i % 2 ? (["docs", "admin"] as const) : (["admin", "docs"] as const);
      for (const which of order) {
        const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
        const [url, ready] =
          which === "admin" ? [`${base}/admin/`, signInForm] : [`${base}/api/docs`, docsRendered];
        results[which].push(await load(context, url, ready));
        results[`${which}Warm`].push(await load(context, url, ready));
        await context.close();
      }
    }
    console.log(`\n${RUNS} runs each, medians (TTI range min–max)\n`);
    console.log("| page | transferred kB | requests | TTI ms | TTI range ms | main-thread busy ms |");
    console.log("|---|---|---|---|---|---|");
    console.log(row("/admin, cold cache", results.admin));
    console.log(row("/admin, warm cache", results.adminWarm));
    console.log(row("/api/docs (baseline), cold cache", results.docs));
    console.log(row("/api/docs (baseline), warm cache", results.docsWarm));
    const ratio = median(results.admin.map((l) => l.ttiMs)) / median(results.docs.map((l) => l.ttiMs));
    const busy = median(results.admin.map((l) => l.busyMs)) / median(results.docs.map((l) => l.busyMs));
    console.log(`\nadmin / docs, cold: TTI ${ratio.toFixed(2)}, main-thread busy ${busy.toFixed(2)}`);
    console.log(
      `load average at the end: ${fs.readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}`,
    );
  } finally {
    await browser.close();
  }
});
