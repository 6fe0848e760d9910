/**
 * A local stand-in for the few Stripe endpoints the payments service uses, for the flows
 * stripe-mock (stateless: every PaymentIntent comes back `requires_payment_method`) cannot play:
 * an approved card, 3-D Secure, a decline, and an intent whose state the test changes later.
 * The `stripe` SDK talks to it through STRIPE_API_BASE, as it talks to stripe-mock.
 *
 * Test PaymentMethods, named like Stripe's own: `pm_card_visa` succeeds,
 * `pm_card_threeDSecure2Required` needs the customer (requires_action), `pm_card_chargeDeclined`
 * is refused with a card error (HTTP 402). Idempotency-Key replays the first answer.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface StubIntent {
  id: string;
  object: "payment_intent";
  amount: number;
  currency: string;
  status: string;
  client_secret: string;
  payment_method: string;
  last_payment_error: null | { code: string };
}

export class StripeStub {
  readonly intents = new Map<string, StubIntent>();
  readonly refunds: { id: string; payment_intent: string; amount: number }[] = [];
  /** Requests by path, for "the SDK was used" assertions. */
  readonly calls: string[] = [];
  private readonly replies = new Map<string, { status: number; body: unknown }>();
  private server = http.createServer((req, res) => this.handle(req, res));

  async start(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }

  /** The customer finished (or failed) 3-D Secure: the intent's state at Stripe changes. */
  settle(id: string, status: "succeeded" | "requires_payment_method"): StubIntent {
    const pi = this.intents.get(id)!;
    pi.status = status;
    if (status !== "succeeded") pi.last_payment_error = { code: "payment_intent_authentication_failure" };
    return pi;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse) {
    let raw = "";
    req.on("data", (c) => (raw += c));
    req.on("end", () => {
      const url = req.url ?? "";
      this.calls.push(`${req.method} ${url}`);
      const key = req.headers["idempotency-key"];
      const replayKey = typeof key === "string" ? `${req.method} ${url} ${key}` : undefined;
      const seen = replayKey ? this.replies.get(replayKey) : undefined;
      if (seen) return this.reply(res, seen.status, seen.body);
      const answer = this.answer(req.method ?? "GET", url, new URLSearchParams(raw));
      if (replayKey && req.method === "POST") this.replies.set(replayKey, answer);
      this.reply(res, answer.status, answer.body);
    });
  }

  private answer(method: string, url: string, form: URLSearchParams): { status: number; body: unknown } {
    if (method === "POST" && url === "/v1/payment_intents") {
      const id = `pi_stub_${this.intents.size + 1}`;
      const pm = form.get("payment_method") ?? "";
      const pi: StubIntent = {
        id,
        object: "payment_intent",
        amount: Number(form.get("amount")),
        currency: form.get("currency") ?? "",
        status: pm === "pm_card_threeDSecure2Required" ? "requires_action" : "succeeded",
        client_secret: `${id}_secret_stub`,
        payment_method: pm,
        last_payment_error: null,
      };
      if (pm === "pm_card_chargeDeclined") {
        pi.status = "requires_payment_method";
        pi.last_payment_error = { code: "card_declined" };
        this.intents.set(id, pi);
        return {
          status: 402,
          body: {
            error: {
              type: "card_error",
              code: "card_declined",
              decline_code: "generic_decline",
              message: "Your card was declined.",
              payment_intent: pi,
            },
          },
        };
      }
      this.intents.set(id, pi);
      return { status: 200, body: pi };
    }
    const get = /^\/v1\/payment_intents\/(\w+)$/.exec(url);
    if (method === "GET" && get && this.intents.has(get[1]))
      return { status: 200, body: this.intents.get(get[1]) };
    if (method === "POST" && url === "/v1/refunds") {
      const refund = {
        id: `re_stub_${this.refunds.length + 1}`,
        object: "refund",
        payment_intent: form.get("payment_intent") ?? "",
        amount: Number(form.get("amount")),
        status: "succeeded",
      };
      this.refunds.push(refund);
      return { status: 200, body: refund };
    }
    return { status: 404, body: { error: { type: "invalid_request_error", message: `No route ${url}` } } };
  }

  private reply(res: http.ServerResponse, status: number, body: unknown) {
    res.writeHead(status, { "content-type": "application/json", "request-id": "req_stub" });
    res.end(JSON.stringify(body));
  }
}
