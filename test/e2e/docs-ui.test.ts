/**
 * The docs page as a user sees it: /api/docs of an embedded node opened in headless Chromium
 * (Debian's `chromium`, installed by `npm run infra:up`), driven by playwright-core. Swagger UI must
 * render every operation of /api/openapi.json (which holds every route of API_ALIASES), load nothing
 * from anywhere but the gateway, and log no error; a full-page screenshot is taken and checked.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { API_ALIASES } from "../../services/api/routes";
import { describeE2E, freePort, NodeProcess, waitFor } from "../support/cluster";

const CHROMIUM = "/usr/bin/chromium";
const VIEWPORT = { width: 1280, height: 800 };
const HTTP_METHODS = new Set(["get", "put", "post", "delete", "options", "head", "patch", "trace"]);

/** "PATCH /cart/items/:productId" -> "PATCH /api/cart/items/{productId}" (as the page shows it). */
const aliasOperation = (alias: string) => {
  const [method, p] = alias.split(" ");
  return `${method.toUpperCase()} /api${p.replace(/:(\w+)/g, "{$1}")}`;
};

/** Width and height from a PNG's IHDR chunk, or null if the bytes are not a PNG. */
function pngSize(png: Buffer): { width: number; height: number } | null {
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  if (png.length < 24 || !png.subarray(0, 8).equals(signature) || png.toString("ascii", 12, 16) !== "IHDR")
    return null;
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

describeE2E("the docs page in headless Chromium", () => {
  let tmp: string;
  let node: NodeProcess;
  let browser: Browser;
  let page: Page;
  let base: string;
  /** Every URL the page asked for, console errors and uncaught exceptions, failed loads. */
  const requests: string[] = [];
  const errors: string[] = [];
  const failed: string[] = [];

  beforeAll(async () => {
    if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run \`npm run infra:up\``);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "docs-ui-"));
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    // Embedded (no TRANSPORTER): the docs need nothing but the gateway.
    node = new NodeProcess(`docs-ui-${port}`, {
      PORT: String(port),
      DATA_DIR: path.join(tmp, "data"),
      NODE_ENV: "test",
      LOG_LEVEL: "warn",
    }).start();
    await waitFor(
      "/health/ready to answer 200",
      async () => (await fetch(`${base}/health/ready`).catch(() => undefined))?.status === 200,
    );

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking"],
    });
    page = await browser.newPage({ viewport: VIEWPORT });
    page.on("request", (req) => requests.push(req.url()));
    page.on("requestfailed", (req) => failed.push(`${req.url()}: ${req.failure()?.errorText}`));
    page.on("response", (res) => {
      if (res.status() >= 400) failed.push(`${res.url()}: HTTP ${res.status()}`);
    });
    page.on("console", (msg) => {
      if (msg.type() === "error") errors.push(`console: ${msg.text()}`);
    });
    page.on("pageerror", (err) => errors.push(`page error: ${err.message}`));

    await page.goto(`${base}/api/docs`, { waitUntil: "load" });
    // Swagger UI fetches the document, then renders every tag's operations at once.
    await page.waitForSelector(".swagger-ui .opblock", { timeout: 30_000 }).catch((err: Error) => {
      throw new Error(
        `${err.message}\nrequests: ${requests.join(", ")}\n${[...failed, ...errors].join("\n")}`,
      );
    });
    await page.waitForLoadState("networkidle");
  });

  afterAll(async () => {
    await browser?.close();
    await node?.stop("SIGKILL");
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("should render every operation of /api/openapi.json, and so every route", async () => {
    const doc = (await (await fetch(`${base}/api/openapi.json`)).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const documented = Object.entries(doc.paths)
      .flatMap(([p, item]) =>
        Object.keys(item)
          .filter((m) => HTTP_METHODS.has(m))
          .map((m) => `${m.toUpperCase()} ${p}`),
      )
      .sort();
    // Every REST route (and the gateway's own: health, metrics, the docs) is documented.
    expect(documented).toEqual(expect.arrayContaining(Object.keys(API_ALIASES).map(aliasOperation)));

    const rendered = await page.$$eval(".swagger-ui .opblock", (blocks) =>
      blocks.map((b) => {
        const method = b.querySelector(".opblock-summary-method")?.textContent?.trim() ?? "?";
        const summaryPath = b.querySelector(".opblock-summary-path");
        const p = summaryPath?.getAttribute("data-path") ?? summaryPath?.textContent?.trim() ?? "?";
        return `${method.toUpperCase()} ${p}`;
      }),
    );
    expect([...rendered].sort()).toEqual(documented);
    expect(await page.locator(".swagger-ui .info .title").innerText()).toMatch(/\S/);
  });

  it("should load everything from the gateway itself and log no error", () => {
    expect(requests).toContain(`${base}/api/docs`);
    expect(requests).toContain(`${base}/api/openapi.json`);
    const outside = requests.filter((u) => !/^(data|blob):/.test(u) && new URL(u).origin !== base);
    expect(outside).toEqual([]);
    expect(failed).toEqual([]);
    expect(errors).toEqual([]);
  });

  it("should take a full-page screenshot of the rendered page", async () => {
    const file = path.join(tmp, "docs.png");
    await page.screenshot({ path: file, fullPage: true });
    const png = fs.readFileSync(file);
    const size = pngSize(png);
    expect(size).not.toBeNull();
    // The whole list of operations is taller than one screen; a blank or unstyled page would
    // compress to a few kilobytes.
    expect(size!.width).toBe(VIEWPORT.width);
    expect(size!.height).toBeGreaterThan(VIEWPORT.height);
    expect(png.length).toBeGreaterThan(50_000);
  });
});
