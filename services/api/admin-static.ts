/**
 * The admin app's files (built by `npm run build` into dist/admin, see admin/vite.config.ts),
 * served by the gateway from memory: hashed names under assets/ cached for a year, index.html
 * never (it names the current hashes, and carries a fresh CSP nonce each time); brotli or gzip
 * as the browser accepts, from the copies the build compressed.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import path from "node:path";
import zlib from "node:zlib";
import { ADMIN_PATH, adminCsp } from "./http-guard";

/** The repository root, from services/api (ts-jest) or dist/services/api (compiled). */
const UP = path.resolve(__dirname, "..", "..");
const ROOT = path.basename(UP) === "dist" ? path.dirname(UP) : UP;
export const ADMIN_DIST = path.join(ROOT, "dist", "admin");
export const NONCE_PLACEHOLDER = "__CSP_NONCE__";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
  ".json": "application/json; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
};
const YEAR = "public, max-age=31536000, immutable";

interface StaticFile {
  type: string;
  cache: string;
  raw: Buffer;
  br?: Buffer;
  gzip?: Buffer;
}

export type Encoding = "br" | "gzip" | "identity";

/** The best encoding of Accept-Encoding we hold: brotli, then gzip (q=0 refuses one). */
export function pickEncoding(accept: string | undefined, has: { br: boolean; gzip: boolean }): Encoding {
  const q = new Map<string, number>();
  for (const part of (accept ?? "").split(",")) {
    const [name, ...params] = part.trim().toLowerCase().split(";");
    if (!name) continue;
    const weight = params.map((p) => /^\s*q=([\d.]+)/.exec(p)).find(Boolean);
    q.set(name, weight ? Number(weight[1]) : 1);
  }
  const ok = (e: string) => (q.get(e) ?? q.get("*") ?? 0) > 0;
  if (has.br && ok("br")) return "br";
  if (has.gzip && ok("gzip")) return "gzip";
  return "identity";
}

export class AdminApp {
  private files = new Map<string, StaticFile>();
  private indexHtml?: string;

  constructor(readonly dir: string = ADMIN_DIST) {}

  get built(): boolean {
    return this.indexHtml !== undefined;
  }

  /** Reads the build once (at start); a gateway without a build answers /admin with 503. */
  load(): this {
    this.files.clear();
    this.indexHtml = undefined;
    if (!fs.existsSync(path.join(this.dir, "index.html"))) return this;
    for (const rel of walk(this.dir)) {
      if (/\.(br|gz|map)$/.test(rel)) continue;
      const abs = path.join(this.dir, rel);
      const read = (suffix: string) =>
        fs.existsSync(abs + suffix) ? fs.readFileSync(abs + suffix) : undefined;
      const url = `/${rel.split(path.sep).join("/")}`;
      this.files.set(url, {
        type: TYPES[path.extname(rel)] ?? "application/octet-stream",
        cache: url.startsWith("/assets/") ? YEAR : "public, max-age=3600",
        raw: fs.readFileSync(abs),
        br: read(".br"),
        gzip: read(".gz"),
      });
    }
    this.indexHtml = fs.readFileSync(path.join(this.dir, "index.html"), "utf8");
    return this;
  }

  /** Answers a request under /admin. */
  serve(req: IncomingMessage, res: ServerResponse): void {
    if (req.method !== "GET" && req.method !== "HEAD") return this.fail(res, 405, "Method not allowed");
    let sub: string;
    try {
      sub = decodeURIComponent((req.url ?? "/").split("?")[0].slice(ADMIN_PATH.length)) || "/";
    } catch {
      return this.fail(res, 404, "Not found");
    }
    const file = sub === "/index.html" ? undefined : this.files.get(sub);
    if (file) return this.send(req, res, file, file.cache);
    if (!this.indexHtml) return this.fail(res, 503, "The admin app is not built: run `npm run build`");
    // Asset-like paths that do not exist are 404s; everything else is the app (it routes itself).
    if (sub.startsWith("/assets/") || path.extname(sub)) return this.fail(res, 404, "Not found");
    const nonce = randomBytes(16).toString("base64");
    res.setHeader("Content-Security-Policy", adminCsp(nonce));
    const raw = Buffer.from(this.indexHtml.split(NONCE_PLACEHOLDER).join(nonce));
    this.send(
      req,
      res,
      { type: TYPES[".html"], cache: "no-cache", raw, gzip: zlib.gzipSync(raw) },
      "no-cache",
    );
  }

  private send(req: IncomingMessage, res: ServerResponse, file: StaticFile, cache: string): void {
    const accept = req.headers["accept-encoding"];
    const encoding = pickEncoding(typeof accept === "string" ? accept : undefined, {
      br: Boolean(file.br),
      gzip: Boolean(file.gzip),
    });
    const body = encoding === "br" ? file.br! : encoding === "gzip" ? file.gzip! : file.raw;
    res.setHeader("Content-Type", file.type);
    res.setHeader("Cache-Control", cache);
    const vary = res.getHeader("Vary");
    res.setHeader("Vary", vary ? `${String(vary)}, Accept-Encoding` : "Accept-Encoding");
    if (encoding !== "identity") res.setHeader("Content-Encoding", encoding);
    res.setHeader("Content-Length", body.length);
    res.writeHead(200);
    res.end(req.method === "HEAD" ? undefined : body);
  }

  private fail(res: ServerResponse, code: number, message: string): void {
    const type = code === 404 ? "NOT_FOUND" : code === 405 ? "METHOD_NOT_ALLOWED" : "ADMIN_NOT_BUILT";
    res.writeHead(code, { "Content-Type": "application/json; charset=utf-8" });
    res.end(JSON.stringify({ name: "Error", message, code, type, data: {} }));
  }
}

function walk(dir: string, prefix = ""): string[] {
  return fs.readdirSync(path.join(dir, prefix), { withFileTypes: true }).flatMap((e) => {
    const rel = path.join(prefix, e.name);
    return e.isDirectory() ? walk(dir, rel) : [rel];
  });
}
