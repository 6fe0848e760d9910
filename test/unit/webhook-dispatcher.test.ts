/**
 * The dispatcher's per-endpoint window over an in-memory store: a receiver that keeps up is sent
 * more at once, one that hangs soon holds a single slot.
 */
import { newDelivery, nextWindow, type EndpointDoc } from "../../domain/webhooks";
import { WebhookDispatcher, type WebhookStore } from "../../lib/webhook-dispatcher";
import type { SendResult } from "../../lib/webhook-sender";
import { waitFor } from "../support/cluster";

type Doc = Record<string, any>;

/** Just enough of a document store for the dispatcher's filters and updates. */
function memoryStore(docs: Map<string, Doc>): WebhookStore {
  const matches = (d: Doc, filter: Doc) =>
    Object.entries(filter).every(([k, v]) =>
      v && typeof v === "object"
        ? ("$lte" in v ? d[k] <= v.$lte : true) && ("$gt" in v ? d[k] > v.$gt : true)
        : d[k] === v,
    );
  return {
    activeEndpoints: async () => [...docs.values()].filter((d) => d.kind === "endpoint" && d.active) as any,
    pendingOf: async (id, limit) =>
      [...docs.values()]
        .filter((d) => d.pendingOf === id)
        .sort((a, b) => a.at - b.at)
        .slice(0, limit) as any,
    bodyOf: async (eventId) => docs.get(`event:${eventId}`)?.body ?? null,
    findById: async (id) => docs.get(id) ?? null,
    updateOneIf: async (filter, update: Doc) => {
      const d = docs.get((filter as Doc)._id);
      if (!d || !matches(d, filter)) return null;
      const next = { ...d, ...update.$set };
      for (const [k, n] of Object.entries(update.$inc ?? {})) next[k] = (next[k] ?? 0) + (n as number);
      for (const k of Object.keys(update.$unset ?? {})) delete next[k];
      docs.set(d._id, next);
      return next;
    },
  };
}

const endpoint = (id: string): EndpointDoc & { kind: string } => ({
  _id: id,
  kind: "endpoint",
  url: `https://${id}.example/hook`,
  events: ["*"],
  active: true,
  secret: "whsec_test",
  consecutiveFailures: 0,
  deactivatedAt: null,
  deactivationReason: null,
  createdAt: 0,
  updatedAt: 0,
});

const delivery = (endpointId: string, i: number) => ({
  ...newDelivery(endpointId, { eventId: `e${i}`, type: "order.placed", key: `order-${i}` }, i, 0),
  kind: "delivery",
});

describe("the webhook dispatcher's window per endpoint", () => {
  it("should grow one step per 2xx and halve on anything else, between 1 and the most", () => {
    expect([4, 15, 16].map((w) => nextWindow(w, true, 16))).toEqual([5, 16, 16]);
    expect([16, 5, 2, 1].map((w) => nextWindow(w, false, 16))).toEqual([8, 2, 1, 1]);
  });

  it("should send a healthy receiver more than 4 at once and leave a hanging one a single slot", async () => {
    const docs = new Map<string, Doc>();
    for (const e of [endpoint("ok"), endpoint("hang")]) docs.set(e._id, e);
    for (let i = 0; i < 200; i++) {
      docs.set(`event:e${i}`, { _id: `event:e${i}`, kind: "event", body: `{"n":${i}}` });
      for (const e of ["ok", "hang"]) docs.set(`${e}:e${i}`, delivery(e, i));
    }
    const inFlight = { ok: 0, hang: 0 };
    const most = { ok: 0, hang: 0, hangAfterTimeouts: 0 };
    let timedOut = 0;
    const hanging: (() => void)[] = [];
    const bodies = new Set<string>();
    const dispatcher = new WebhookDispatcher({
      store: memoryStore(docs),
      owner: "node-1",
      perEndpoint: 16,
      maxInFlight: 64,
      timeoutMs: 10_000,
      backoffMs: 1,
      watermark: async () => Number.MAX_SAFE_INTEGER,
      checkUrl: async (url) => ({
        ok: true,
        url: new URL(url),
        target: { address: "192.0.2.1", family: 4 } as any,
      }),
      post: (url, _target, body) => {
        const who = url.hostname.startsWith("ok") ? "ok" : "hang";
        if (who === "ok") bodies.add(body);
        inFlight[who]++;
        most[who] = Math.max(most[who], inFlight[who]);
        if (who === "hang" && timedOut >= 4)
          most.hangAfterTimeouts = Math.max(most.hangAfterTimeouts, inFlight.hang);
        return new Promise<SendResult>((resolve) => {
          const done = (status: number | null) => {
            inFlight[who]--;
            resolve({ status, error: status ? null : "timeout", ms: 1 });
          };
          if (who === "ok") setTimeout(() => done(200), 2);
          else hanging.push(() => (timedOut++, done(null)));
        });
      },
      deactivated: () => undefined,
      outcome: () => undefined,
      logger: { warn: () => undefined, info: () => undefined },
    });
    dispatcher.start();
    try {
      await waitFor("every delivery to the healthy receiver", async () =>
        [...docs.values()].every((d) => d.endpointId !== "ok" || d.status === "delivered"),
      );
      // The hanging receiver's requests time out one by one, 30 of them.
      for (let n = 0; n < 30; n++) {
        await waitFor("a request to the hanging receiver", async () => hanging.length > 0);
        hanging.shift()!();
      }
    } finally {
      await dispatcher.stop(100);
      for (const release of hanging) release();
    }
    // Each body read from its event's own record.
    expect(bodies.size).toBe(200);
    expect(bodies.has('{"n":199}')).toBe(true);
    expect(most.ok).toBeGreaterThan(4);
    expect(most.ok).toBeLessThanOrEqual(16);
    expect(most.hang).toBe(4);
    expect(most.hangAfterTimeouts).toBe(1);
  });
});
