/** A local HTTP receiver of outbound webhooks: records each request, answers as the test says. */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { verifyDelivery } from "../../domain/webhooks";

export interface Received {
  eventId: string;
  type: string;
  headerType: string;
  body: any;
  raw: Buffer;
  signature: string;
  /** The status this receiver answered. */
  answered: number;
  at: number;
}

/** What to answer a request with (a status), or null to never answer (a hanging receiver). */
export type Answer = (r: Omit<Received, "answered">) => number | null | Promise<number | null>;

export class WebhookReceiver {
  readonly requests: Received[] = [];
  /** Requests received and not answered yet. */
  inProgress = 0;
  private server?: http.Server;
  private readonly hanging = new Set<http.ServerResponse>();

  constructor(private answer: Answer = () => 200) {}

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", async () => {
        const raw = Buffer.concat(chunks);
        let body: any = null;
        try {
          body = JSON.parse(raw.toString("utf8"));
        } catch {
          /* recorded as it came */
        }
        const seen = {
          eventId: String(req.headers["shop-event-id"] ?? ""),
          headerType: String(req.headers["shop-event-type"] ?? ""),
          type: body?.type,
          body,
          raw,
          signature: String(req.headers["shop-signature"] ?? ""),
          at: Date.now(),
        };
        this.inProgress++;
        const status = await Promise.resolve(this.answer(seen)).finally(() => this.inProgress--);
        if (status === null) {
          this.hanging.add(res);
          res.on("close", () => this.hanging.delete(res));
          return;
        }
        this.requests.push({ ...seen, answered: status });
        res.writeHead(status, { "content-type": "text/plain" }).end(status < 300 ? "ok" : "no");
      });
    });
    this.server.keepAliveTimeout = 1000;
    await new Promise<void>((r) => this.server!.listen(0, "127.0.0.1", () => r()));
    return this;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}/hook`;
  }

  /** The requests this receiver accepted (2xx). */
  accepted(): Received[] {
    return this.requests.filter((r) => r.answered >= 200 && r.answered < 300);
  }

  /** Every recorded request whose signature checks out with `secret` (at the time it came). */
  badSignatures(secret: string): Received[] {
    return this.requests.filter(
      (r) => verifyDelivery(secret, r.raw, r.signature, Math.floor(r.at / 1000)) !== "valid",
    );
  }

  async stop(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}
