/**
 * One webhook request: POST to the address the SSRF check resolved and approved (never a second
 * lookup), TLS still verified against the URL's host name, no redirect followed (a 3xx is an
 * answer like any other non-2xx), the whole exchange bounded by a timeout.
 */
import http from "node:http";
import https from "node:https";
import type { LookupFunction } from "node:net";
import type { ResolvedAddress } from "./ssrf";

export interface SendResult {
  /** The HTTP status, or null when no answer came (refused, reset, timed out). */
  status: number | null;
  error: string | null;
  ms: number;
}

/** Bytes of an answer read before the socket is dropped: receivers' bodies are not kept. */
const MAX_ANSWER_BYTES = 64 * 1024;

export function postWebhook(
  url: URL,
  target: ResolvedAddress,
  body: string,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<SendResult> {
  const started = Date.now();
  const pinned: LookupFunction = (_host, opts: any, cb: any) =>
    opts?.all ? cb(null, [target]) : cb(null, target.address, target.family);
  const lib = url.protocol === "https:" ? https : http;
  return new Promise<SendResult>((resolve) => {
    let settled = false;
    const done = (status: number | null, error: string | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ status, error, ms: Date.now() - started });
    };
    const req = lib.request(
      {
        protocol: url.protocol,
        hostname: url.hostname.replace(/^\[(.*)\]$/, "$1"),
        port: url.port || undefined,
        path: `${url.pathname}${url.search}`,
        method: "POST",
        lookup: pinned,
        // One connection per request: a pooled socket could outlive the address check.
        agent: false,
        headers: {
          ...headers,
          "content-type": "application/json",
          "content-length": String(Buffer.byteLength(body)),
          "user-agent": "moleculer-shop-webhooks/1",
        },
      },
      (res) => {
        let read = 0;
        res.on("data", (chunk: Buffer) => {
          read += chunk.length;
          if (read > MAX_ANSWER_BYTES) res.destroy();
        });
        const status = res.statusCode ?? null;
        const ok = status !== null && status >= 200 && status < 300;
        res.on("end", () => done(status, ok ? null : `HTTP ${status}`));
        res.on("close", () => done(status, ok ? null : `HTTP ${status}`));
        res.on("error", () => done(status, ok ? null : `HTTP ${status}`));
      },
    );
    const timer = setTimeout(() => {
      done(null, `no answer within ${timeoutMs} ms`);
      req.destroy();
    }, timeoutMs);
    req.on("error", (err: any) => done(null, String(err?.code ?? err?.message ?? err)));
    req.end(body);
  });
}
