import { createHmac } from "node:crypto";
import { Events, KafkaTopics, WEBHOOK_EVENT_TYPES, type EventEnvelope } from "../../contracts";
import {
  DEACTIVATE_AFTER_FAILURES,
  MAX_ATTEMPTS,
  afterAttempt,
  deactivates,
  deliveryHeaders,
  dueDeliveries,
  envelopeBody,
  normalizeEvents,
  retryDelayMs,
  verifyDelivery,
  wants,
  type EndpointDoc,
} from "../../domain/webhooks";
import { RuleError } from "../../domain/rule-error";

const SECRET = "whsec_0123456789abcdef";
const NOW = 1_800_000_000;

const evt: EventEnvelope<"order.placed"> = {
  eventId: "e1",
  type: "order.placed",
  version: 1,
  occurredAt: "2026-01-01T00:00:01.000Z",
  key: "ord_1",
  data: { orderId: "ord_1", userId: "u1", items: [], total: 1999, currency: "USD" },
};

const endpoint = (over: Partial<EndpointDoc> = {}): EndpointDoc => ({
  _id: "wh_1",
  url: "https://example.com/hook",
  events: ["*"],
  active: true,
  secret: SECRET,
  consecutiveFailures: 0,
  deactivatedAt: null,
  deactivationReason: null,
  createdAt: Date.parse("2026-01-01T00:00:00.000Z"),
  updatedAt: 0,
  ...over,
});

describe("a webhook's body, headers and signature", () => {
  it("should send the Kafka envelope without its routing key", () => {
    expect(JSON.parse(envelopeBody(evt))).toEqual({
      eventId: "e1",
      type: "order.placed",
      version: 1,
      occurredAt: evt.occurredAt,
      data: evt.data,
    });
  });

  it("should sign t=<unix seconds>,v1=<lowercase hex HMAC-SHA256 of '<t>.<body>'> with the endpoint's secret", () => {
    const body = envelopeBody(evt);
    const headers = deliveryHeaders({ eventId: "e1", eventType: "order.placed", body }, SECRET, NOW);
    const v1 = createHmac("sha256", SECRET).update(`${NOW}.${body}`).digest("hex");
    expect(headers).toEqual({
      "shop-event-id": "e1",
      "shop-event-type": "order.placed",
      "shop-signature": `t=${NOW},v1=${v1}`,
    });
    expect(v1).toMatch(/^[0-9a-f]{64}$/);
  });

  it("should verify its own signature, and refuse another body, another secret or an old timestamp", () => {
    const body = envelopeBody(evt);
    const sig = deliveryHeaders({ eventId: "e1", eventType: "order.placed", body }, SECRET, NOW)[
      "shop-signature"
    ];
    expect(verifyDelivery(SECRET, Buffer.from(body), sig, NOW)).toBe("valid");
    expect(verifyDelivery(SECRET, Buffer.from(body + " "), sig, NOW)).toBe("mismatch");
    expect(verifyDelivery("whsec_other", Buffer.from(body), sig, NOW)).toBe("mismatch");
    expect(verifyDelivery(SECRET, Buffer.from(body), sig, NOW + 301)).toBe("stale");
  });
});

describe("the retry schedule", () => {
  it("should wait about 1 s, doubling, each within ±25 % (jitter)", () => {
    const nominal = [1000, 2000, 4000, 8000, 16000, 32000, 64000];
    nominal.forEach((ms, i) => {
      expect(retryDelayMs(i + 1, 1000, () => 0.5)).toBe(ms);
      expect(retryDelayMs(i + 1, 1000, () => 0)).toBe(ms * 0.75);
      expect(retryDelayMs(i + 1, 1000, () => 0.999999)).toBeCloseTo(ms * 1.25, -1);
    });
  });

  it("should spread retries of one moment over different times", () => {
    const delays = new Set(Array.from({ length: 20 }, () => retryDelayMs(3, 1000)));
    expect(delays.size).toBeGreaterThan(1);
  });

  it("should count any 2xx as delivered, and retry anything else until attempt 8, then fail", () => {
    for (const status of [200, 201, 202, 204, 299])
      expect(afterAttempt(1, status, 1000).kind).toBe("delivered");
    for (const status of [null, 100, 301, 302, 400, 404, 410, 500, 503])
      for (let attempt = 1; attempt < MAX_ATTEMPTS; attempt++)
        expect(afterAttempt(attempt, status, 1000).kind).toBe("retry");
    expect(MAX_ATTEMPTS).toBe(8);
    expect(afterAttempt(8, 500, 1000)).toEqual({ kind: "failed" });
    expect(afterAttempt(8, 200, 1000)).toEqual({ kind: "delivered" });
  });

  it("should switch an endpoint off at 20 failed deliveries in a row, not before", () => {
    expect(DEACTIVATE_AFTER_FAILURES).toBe(20);
    expect(deactivates(19)).toBe(false);
    expect(deactivates(20)).toBe(true);
  });
});

describe("which endpoint gets which event", () => {
  it("should accept every event type API.md names, `*`, and nothing else", () => {
    expect(normalizeEvents(["order.placed", "order.placed", "*"])).toEqual(["order.placed", "*"]);
    for (const type of WEBHOOK_EVENT_TYPES) expect(normalizeEvents([type])).toEqual([type]);
    expect(WEBHOOK_EVENT_TYPES).toEqual(
      expect.arrayContaining(["user.deleted", "order.refunded", "order.held", "return.requested"]),
    );
    const thrown = (events: string[]) => {
      try {
        normalizeEvents(events);
      } catch (err) {
        return err as RuleError;
      }
      throw new Error("accepted");
    };
    expect(thrown(["payment.succeeded"])).toMatchObject({ status: 422, data: [{ field: "events" }] });
    expect(thrown([])).toMatchObject({ status: 422, data: [{ field: "events" }] });
  });

  it("should offer every event that goes to Kafka, under the names of Events", () => {
    const coming = ["user.deleted", "order.refunded", "order.held", "return.requested"];
    const known = new Set<string>(Object.values(Events));
    for (const t of WEBHOOK_EVENT_TYPES) if (!coming.includes(t)) expect(known).toContain(t);
    for (const [type, topic] of Object.entries(KafkaTopics))
      if (topic) expect(WEBHOOK_EVENT_TYPES).toContain(type);
  });

  it("should send an endpoint only the types it lists, `*` all, and nothing while inactive", () => {
    expect(wants(endpoint({ events: ["order.placed"] }), evt)).toBe(true);
    expect(wants(endpoint({ events: ["order.paid"] }), evt)).toBe(false);
    expect(wants(endpoint({ events: ["*"] }), evt)).toBe(true);
    expect(wants(endpoint({ active: false }), evt)).toBe(false);
  });

  it("should send only events that happened after the endpoint was created", () => {
    const created = Date.parse(evt.occurredAt);
    expect(wants(endpoint({ createdAt: created - 1 }), evt)).toBe(true);
    expect(wants(endpoint({ createdAt: created }), evt)).toBe(false);
    expect(wants(endpoint({ createdAt: created + 1 }), evt)).toBe(false);
  });
});

describe("which pending deliveries may go now", () => {
  const d = (
    id: string,
    key: string,
    at: number,
    over: { nextAttemptAt?: number; leaseUntil?: number } = {},
  ) => ({
    _id: id,
    key,
    at,
    nextAttemptAt: over.nextAttemptAt ?? 0,
    leaseUntil: over.leaseUntil ?? 0,
  });

  it("should send only the oldest pending delivery of each aggregate", () => {
    const pending = [d("a1", "A", 1), d("b1", "B", 2), d("a2", "A", 3), d("c1", "C", 4)];
    expect(dueDeliveries(pending, 100, 1000, 10)).toEqual(["a1", "b1", "c1"]);
  });

  it("should hold an aggregate's later events back while its oldest waits out a retry or is in flight", () => {
    const pending = [
      d("a1", "A", 1, { nextAttemptAt: 500 }),
      d("b1", "B", 2, { leaseUntil: 500 }),
      d("a2", "A", 3),
      d("b2", "B", 4),
    ];
    expect(dueDeliveries(pending, 100, 1000, 10)).toEqual([]);
    expect(dueDeliveries(pending, 500, 1000, 10)).toEqual(["a1", "b1"]);
  });

  it("should send nothing from the watermark on (an earlier event may still be on its way)", () => {
    const pending = [d("a1", "A", 10), d("b1", "B", 20)];
    expect(dueDeliveries(pending, 100, 20, 10)).toEqual(["a1"]);
    expect(dueDeliveries(pending, 100, 10, 10)).toEqual([]);
  });

  it("should start no more than the free slots", () => {
    const pending = [d("a1", "A", 1), d("b1", "B", 2), d("c1", "C", 3)];
    expect(dueDeliveries(pending, 100, 1000, 2)).toEqual(["a1", "b1"]);
  });
});
