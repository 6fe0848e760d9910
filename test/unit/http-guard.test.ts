import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { corsAnswer, securityHeaders } from "../../services/api/http-guard";
import { AdminApp, pickEncoding } from "../../services/api/admin-static";

describe("securityHeaders", () => {
  it.each(["/api/products", "/health/live", "/nowhere", "/admin/assets/x.js"])(
    "should send nosniff and a referrer policy on %s",
    (url) => {
      const h = securityHeaders(url);
      expect(h["X-Content-Type-Options"]).toBe("nosniff");
      expect(h["Referrer-Policy"]).toBe("no-referrer");
    },
  );

  it("should give the docs page a CSP with frame-ancestors 'none' and nothing from outside", () => {
    const csp = securityHeaders("/api/docs?x=1")["Content-Security-Policy"];
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toMatch(/https?:|\*/);
    expect(securityHeaders("/api/products")["Content-Security-Policy"]).toBeUndefined();
  });
});

describe("corsAnswer", () => {
  const listed = ["https://shop.example"];

  it("should allow nothing cross-origin when CORS_ORIGINS is unset", () => {
    expect(corsAnswer([], "GET", "https://shop.example", undefined)).toEqual({ kind: "none", headers: {} });
    expect(corsAnswer([], "OPTIONS", "https://shop.example", "POST")).toMatchObject({
      kind: "preflight",
      status: 403,
    });
  });

  it("should echo a listed origin with credentials, and answer its preflight", () => {
    expect(corsAnswer(listed, "GET", "https://shop.example", undefined).headers).toMatchObject({
      "Access-Control-Allow-Origin": "https://shop.example",
      "Access-Control-Allow-Credentials": "true",
      Vary: "Origin",
    });
    const preflight = corsAnswer(listed, "OPTIONS", "https://shop.example", "PATCH");
    expect(preflight).toMatchObject({ kind: "preflight", status: 204 });
    expect(preflight.headers["Access-Control-Allow-Headers"]).toContain("Authorization");
  });

  it("should refuse an origin not listed", () => {
    const answer = corsAnswer(listed, "GET", "https://evil.example", undefined);
    expect(answer.headers["Access-Control-Allow-Origin"]).toBeUndefined();
    expect(corsAnswer(listed, "OPTIONS", "https://evil.example", "GET")).toMatchObject({ status: 403 });
  });

  it("should never allow credentials with *", () => {
    const answer = corsAnswer(["*"], "GET", "https://any.example", undefined);
    expect(answer.headers["Access-Control-Allow-Origin"]).toBe("*");
    expect(answer.headers["Access-Control-Allow-Credentials"]).toBeUndefined();
  });
});

describe("pickEncoding", () => {
  const both = { br: true, gzip: true };
  it.each([
    ["gzip, deflate, br", both, "br"],
    ["gzip", both, "gzip"],
    ["br;q=0, gzip", both, "gzip"],
    ["*", both, "br"],
    [undefined, both, "identity"],
    ["br", { br: false, gzip: true }, "identity"],
  ] as const)("should answer %s (holding %j) with %s", (accept, has, encoding) => {
    expect(pickEncoding(accept, has)).toBe(encoding);
  });
});

describe("AdminApp", () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "admin-app-"));
    fs.mkdirSync(path.join(dir, "assets"));
    fs.writeFileSync(
      path.join(dir, "index.html"),
      '<meta name="csp-nonce" content="__CSP_NONCE__"><p>app</p>',
    );
    fs.writeFileSync(path.join(dir, "assets", "index-abc123.js"), "console.log(1)");
    fs.writeFileSync(path.join(dir, "assets", "index-abc123.js.br"), "BR");
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  function get(app: AdminApp, url: string, accept = "br, gzip") {
    const headers: Record<string, any> = {};
    let status = 0;
    let body: Buffer | undefined;
    const res: any = {
      setHeader: (k: string, v: any) => (headers[k.toLowerCase()] = v),
      getHeader: (k: string) => headers[k.toLowerCase()],
      writeHead: (code: number, h: Record<string, any> = {}) => {
        status = code;
        for (const [k, v] of Object.entries(h)) headers[k.toLowerCase()] = v;
      },
      end: (b?: Buffer | string) => (body = b === undefined ? undefined : Buffer.from(b)),
    };
    app.serve({ method: "GET", url, headers: { "accept-encoding": accept } } as any, res);
    return { status, headers, body };
  }

  it("should serve hashed assets for a year, compressed, and index.html uncached with a fresh nonce", () => {
    const app = new AdminApp(dir).load();
    const asset = get(app, "/admin/assets/index-abc123.js");
    expect(asset.status).toBe(200);
    expect(asset.headers["cache-control"]).toBe("public, max-age=31536000, immutable");
    expect(asset.headers["content-encoding"]).toBe("br");
    expect(asset.body!.toString()).toBe("BR");

    const first = get(app, "/admin", "identity");
    const second = get(app, "/admin/", "identity");
    expect(first.headers["cache-control"]).toBe("no-cache");
    const nonce = /content="([^"]+)"/.exec(first.body!.toString())![1];
    expect(nonce).not.toBe("__CSP_NONCE__");
    expect(first.headers["content-security-policy"]).toContain(`'nonce-${nonce}'`);
    expect(first.headers["content-security-policy"]).toContain("frame-ancestors 'none'");
    expect(second.body!.toString()).not.toContain(nonce);
  });

  it("should answer 404 for a missing asset and 503 when there is no build", () => {
    expect(get(new AdminApp(dir).load(), "/admin/assets/gone-1.js").status).toBe(404);
    expect(get(new AdminApp(path.join(dir, "nowhere")).load(), "/admin").status).toBe(503);
  });
});
