/**
 * GraphiQL as a developer sees it: GET /graphql of an embedded node (NODE_ENV=development) opened
 * in headless Chromium (Debian's `chromium`), driven by playwright-core, in the style of
 * docs-ui.test.ts. The page must render, load its schema, run a query typed into it and show the
 * answer, load nothing from anywhere but the gateway, break no rule of its Content-Security-Policy
 * (only 'self'; inline styles for Monaco's layout) and log no error.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { describeE2E, freePort, NodeProcess, waitFor } from "../support/cluster";

const CHROMIUM = "/usr/bin/chromium";

describeE2E("GraphiQL at GET /graphql in headless Chromium", () => {
  let tmp: string;
  let node: NodeProcess;
  let browser: Browser;
  let page: Page;
  let base: string;
  const requests: string[] = [];
  const errors: string[] = [];
  const failed: string[] = [];
  let csp: string | undefined;

  beforeAll(async () => {
    if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run \`npm run infra:up\``);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "graphiql-ui-"));
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    node = new NodeProcess(`graphiql-ui-${port}`, {
      PORT: String(port),
      DATA_DIR: path.join(tmp, "data"),
      NODE_ENV: "development",
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
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on("request", (req) => requests.push(req.url()));
    page.on("requestfailed", (req) => failed.push(`${req.url()}: ${req.failure()?.errorText}`));
    page.on("response", (res) => {
      if (res.status() >= 400) failed.push(`${res.url()}: HTTP ${res.status()}`);
    });
    page.on("console", (msg) => {
      if (msg.type() === "error") errors.push(`console: ${msg.text()}`);
    });
    page.on("pageerror", (err) => errors.push(`page error: ${err.message}`));

    const res = await page.goto(`${base}/graphql`, { waitUntil: "load" });
    csp = res?.headers()["content-security-policy"];
    await page.waitForSelector(".graphiql-container", { timeout: 60_000 }).catch((err: Error) => {
      throw new Error(
        `${err.message}\nrequests: ${requests.join(", ")}\n${[...failed, ...errors].join("\n")}`,
      );
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await node?.stop("SIGKILL");
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("should serve the page under a Content-Security-Policy that allows only self", () => {
    expect(csp).toBeDefined();
    const directives = Object.fromEntries(
      csp!.split(";").map((d) => {
        const [name, ...values] = d.trim().split(/\s+/);
        return [name, values];
      }),
    );
    expect(directives["default-src"]).toEqual(["'self'"]);
    expect(directives["script-src"]).toEqual(["'self'"]);
    expect(directives["frame-ancestors"]).toEqual(["'none'"]);
    // Monaco's computed style attributes: the one inline allowance, and for styles only.
    expect(directives["style-src"]).toEqual(["'self'", "'unsafe-inline'"]);
    delete directives["style-src"];
    for (const values of Object.values(directives) as string[][])
      for (const v of values) expect(["'self'", "'none'", "data:"]).toContain(v);
  });

  it("should load the schema and run a query typed into the editor, showing the answer", async () => {
    // The schema is known once the docs explorer can list the root types.
    await page.getByRole("button", { name: /documentation explorer/i }).click();
    await page.getByText("Query", { exact: true }).first().waitFor({ timeout: 30_000 });

    await page.locator(".graphiql-query-editor").click();
    await page.keyboard.press("ControlOrMeta+A");
    await page.keyboard.press("Delete");
    await page.keyboard.insertText("{ products(pageSize: 1) { total pageSize } }");
    const answered = page.waitForResponse(
      (r) => r.url() === `${base}/graphql` && r.request().method() === "POST" && r.status() === 200,
    );
    await page.getByRole("button", { name: /execute query/i }).click();
    const body = await (await answered).json();
    expect(body).toEqual({ data: { products: { total: 0, pageSize: 1 } } });
    await page.locator(".graphiql-response").getByText('"pageSize": 1').waitFor({ timeout: 30_000 });
  });

  it("should load everything from the gateway itself and log no error", async () => {
    expect(requests).toContain(`${base}/graphql`);
    expect(requests).toContain(`${base}/graphql/assets/graphiql.js`);
    const outside = requests.filter((u) => !/^(data|blob):/.test(u) && new URL(u).origin !== base);
    expect(outside).toEqual([]);
    expect(failed).toEqual([]);
    expect(errors).toEqual([]);
  });

  it("should take a screenshot of the rendered page", async () => {
    const file = process.env.GRAPHIQL_SCREENSHOT ?? path.join(tmp, "graphiql.png");
    await page.screenshot({ path: file });
    const png = fs.readFileSync(file);
    // A blank or unstyled page compresses to a few kilobytes.
    expect(png.length).toBeGreaterThan(20_000);
  });
});
