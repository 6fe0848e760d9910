/**
 * A local stand-in for Twilio's Messages API (the one paid SaaS the tests do not reach): records
 * every message and answers with the statuses queued by `failNext`, then 201.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface StubMessage {
  to: string;
  from: string;
  body: string;
}

export class TwilioStub {
  readonly messages: StubMessage[] = [];
  attempts = 0;
  private queue: number[] = [];
  private server = http.createServer((req, res) => this.handle(req, res));

  async start(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** The next requests get these statuses (e.g. [500, 500], or [400] for an invalid number). */
  failNext(statuses: number[]): void {
    this.queue.push(...statuses);
  }

  stop(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse) {
    let raw = "";
    req.on("data", (c) => (raw += c));
    req.on("end", () => {
      const ok = req.method === "POST" && /^\/2010-04-01\/Accounts\/\w+\/Messages\.json$/.test(req.url ?? "");
      if (!ok) return this.reply(res, 404, { code: 20404, message: "Not found", status: 404 });
      this.attempts++;
      const status = this.queue.shift() ?? 201;
      if (status !== 201) {
        const message =
          status === 400 ? "The 'To' number is not a valid phone number." : "Service unavailable";
        return this.reply(res, status, { code: status === 400 ? 21211 : 20500, message, status });
      }
      const form = new URLSearchParams(raw);
      const msg = { to: form.get("To") ?? "", from: form.get("From") ?? "", body: form.get("Body") ?? "" };
      this.messages.push(msg);
      this.reply(res, 201, { sid: `SM${this.messages.length}`, status: "queued", ...msg });
    });
  }

  private reply(res: http.ServerResponse, status: number, body: unknown) {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  }
}
