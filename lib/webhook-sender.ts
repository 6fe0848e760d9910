/**
 * One webhook request: POST to the address the SSRF check resolved and approved (never a second
 * lookup), TLS still verified against the URL's host name, no redirect followed (a 3xx is an
 * answer like any other non-2xx), the whole exchange bounded by a timeout.
 *
 * Connections are kept alive per (URL origin, checked address): a reused socket is one to the very
 * address this attempt's check approved, so reuse never skips a check, and a receiver that gets
 * many events a second is not sent a new TCP (and TLS) handshake for each.
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
/** Pools kept (one per origin and address); the oldest is closed past this. */
const MAX_AGENTS = 1000;

/** One service's kept connections. */
export class WebhookConnections {
  private readonly agents = new Map<string, http.Agent>();

  agentFor(url: URL, target: ResolvedAddress): http.Agent {
    const key = `${url.protocol}//${url.host}@${target.address}`;
    let agent = this.agents.get(key);
    if (!agent) {
      if (this.agents.size >= MAX_AGENTS) {
        const [oldest, old] = this.agents.entries().next().value!;
        old.destroy();
        this.agents.delete(oldest);
      }
      const Agent = url.protocol === "https:" ? https.Agent : http.Agent;
      agent = new Agent({ keepAlive: true, maxSockets: 32 });
      this.agents.set(key, agent);
    }
    return agent;
  }

  close(): void {
    for (const agent of this.agents.values()) agent.destroy();
    this.agents.clear();
  }
}

export function postWebhook(
  url: URL,
  target: ResolvedAddress,
  body: string,
  headers: Record<string, string>,
  timeoutMs: number,
  connections: WebhookConnections,
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
        agent: connections.agentFor(url, target),
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
