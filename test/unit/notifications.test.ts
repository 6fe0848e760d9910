import { randomUUID } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ServiceBroker } from "moleculer";
import { Events, type EventEnvelope, type UserContact } from "../../contracts";
import {
  backoffMs,
  claimVerdict,
  escapeHtml,
  formatMoney,
  isLastAttempt,
  isTransient,
  messageIdOf,
  planDeliveries,
  render,
  type DeliveryDoc,
} from "../../domain/notifications";
import { reloadConfig } from "../../lib/config";
import { createMessaging } from "../../lib/messaging";
import { renderMessage } from "../../lib/notification-templates";
import { DeliveryLeases, deliveryId, type Held } from "../../lib/delivery-lease";
import { brokerOptions } from "../../moleculer.config";
import { FakeMessaging, connectionRefused } from "../support/fake-messaging";
import {
  FakeJsMessage,
  deliverOnce,
  deliverUntilSettled,
  type Answer,
  type ChannelHandler,
} from "../support/jetstream-message";

const DELIVERIES = "notifications.deliveries.total";

describe("notification rules", () => {
  it("should escape user text in HTML but not in plain text", () => {
    const vars = { name: `<script>alert("x")</script> & co` };
    expect(render("Hi {{name}}", vars, true)).toBe(
      "Hi &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co",
    );
    expect(render("Hi {{name}}", vars, false)).toBe(`Hi <script>alert("x")</script> & co`);
    expect(escapeHtml("'")).toBe("&#39;");
  });

  it("should repeat a section for each item with the item's fields in scope", () => {
    const out = render(
      "{{#items}}{{quantity}}x{{name}};{{/items}} total {{total}}",
      {
        total: "$3",
        items: [
          { quantity: 1, name: "A" },
          { quantity: 2, name: "B" },
        ],
      },
      false,
    );
    expect(out).toBe("1xA;2xB; total $3");
  });

  it("should name each line's variant and SKU in the order confirmation, but not a default variant", () => {
    const line = (name: string, variantTitle: string, sku: string) => ({
      productId: "p",
      variantId: sku,
      sku,
      name,
      variantTitle,
      unitPrice: 1250,
      quantity: 2,
      lineTotal: 2500,
    });
    const evt = {
      eventId: "e1",
      type: Events.orderPlaced,
      data: {
        orderId: "o1",
        userId: "u1",
        items: [line("T-shirt", "M / Red", "TS-M-RED"), line("Mug", "Default", "MUG-1")],
        total: 5000,
        currency: "USD",
      },
    } as unknown as EventEnvelope;
    const user: UserContact = {
      id: "u1",
      name: "Ann",
      email: "ann@example.com",
      notifications: { email: true, sms: false },
    } as UserContact;
    const [planned] = planDeliveries(evt, user);
    const mail = renderMessage(planned) as { text: string; html: string };
    expect(mail.text).toContain("2 x T-shirt (M / Red), SKU TS-M-RED @ $12.50 = $25.00");
    expect(mail.text).toContain("2 x Mug, SKU MUG-1 @ $12.50");
    expect(mail.html).toContain("<td>T-shirt (M / Red), SKU TS-M-RED</td>");
  });

  it("should format minor units in the currency's own decimals", () => {
    expect(formatMoney(1999, "USD")).toBe("$19.99");
    expect(formatMoney(1999, "JPY")).toBe("¥1,999");
    expect(formatMoney(123456, "EUR", "en-US")).toBe("€1,234.56");
  });

  it("should retry connection failures, SMTP 4xx and Twilio 429/5xx, but not an invalid number", () => {
    expect(isTransient(Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }))).toBe(
      true,
    );
    expect(isTransient({ responseCode: 421 })).toBe(true);
    expect(isTransient({ responseCode: 550 })).toBe(false);
    expect(isTransient({ status: 429 })).toBe(true);
    expect(isTransient({ status: 503 })).toBe(true);
    expect(isTransient({ status: 400 })).toBe(false);
  });

  it("should back off exponentially up to a cap", () => {
    expect([1, 2, 3, 4].map((a) => backoffMs(a, 1000))).toEqual([1000, 2000, 4000, 8000]);
    expect(backoffMs(10, 1000)).toBe(30_000);
  });

  it("should give a delivery's email one Message-ID, legal in the header whatever the event id", () => {
    expect(messageIdOf("4da0c4eb-c526", "email")).toBe("<4da0c4eb-c526.email@shop.local>");
    expect(messageIdOf("a b<c>@d", "email")).toBe("<a-b-c--d.email@shop.local>");
  });

  it("should put the Message-ID in the email it writes", async () => {
    const dataDir = tmpDir();
    const messaging = createMessaging({ ...reloadConfig(), dataDir, smtpUrl: undefined } as any);
    const messageId = messageIdOf(randomUUID(), "email");
    await messaging.sendEmail({ to: "a@shop.test", subject: "s", text: "t", html: "<p>t</p>", messageId });
    const [file] = fs.readdirSync(path.join(dataDir, "mail"));
    expect(fs.readFileSync(path.join(dataDir, "mail", file), "utf8")).toContain(`Message-ID: ${messageId}`);
  });
});

describe("what a worker does with a delivery record it finds", () => {
  const now = 1_000_000;

  it("should leave a sent, failed or skipped delivery alone", () => {
    for (const status of ["sent", "failed", "skipped"] as const)
      expect(claimVerdict({ status, leaseUntil: 0 }, now)).toEqual({ kind: "done" });
  });

  it("should come back when another worker's lease ends, since that worker may die", () => {
    expect(claimVerdict({ status: "pending", leaseUntil: now + 4000 }, now)).toEqual({
      kind: "busy",
      retryInMs: 4000,
    });
  });

  it("should take over a pending delivery whose lease lapsed or was given back", () => {
    expect(claimVerdict({ status: "pending", leaseUntil: now - 1 }, now)).toEqual({ kind: "take" });
    expect(claimVerdict({ status: "pending", leaseUntil: 0 }, now)).toEqual({ kind: "take" });
  });

  it("should count attempts across workers and give up at once on a permanent error", () => {
    expect(isLastAttempt(5, 6, true)).toBe(false);
    expect(isLastAttempt(6, 6, true)).toBe(true);
    expect(isLastAttempt(1, 6, false)).toBe(true);
  });
});

const USER: UserContact = {
  id: "u-1",
  email: "ada@example.com",
  name: "Ada",
  notifications: { email: true, sms: false },
};

function welcomeEvent(): EventEnvelope<"user.registered"> {
  return {
    eventId: randomUUID(),
    type: Events.userRegistered,
    version: 1,
    occurredAt: new Date().toISOString(),
    key: USER.id,
    data: { userId: USER.id, email: USER.email, name: USER.name },
  };
}

/** A record a worker left when it died: claimed, never finished. */
function abandonedRecord(evt: EventEnvelope, over: Partial<DeliveryDoc>): DeliveryDoc {
  return {
    _id: deliveryId(evt.eventId, "email"),
    eventId: evt.eventId,
    channel: "email",
    template: "welcome",
    to: USER.email,
    userId: USER.id,
    status: "pending",
    attempts: 0,
    createdAt: Date.now(),
    owner: "dead-node",
    fence: 1,
    leaseUntil: Date.now() + 60_000,
    ...over,
  };
}

/** A notifications node in this process: its store on NeDB under dataDir, its mail in `messaging`. */
async function notificationsNode(dataDir: string, env: Record<string, string>) {
  Object.assign(process.env, { DATA_DIR: dataDir, ...env });
  const broker = new ServiceBroker({
    ...brokerOptions(reloadConfig()),
    nodeID: `notify-${randomUUID().slice(0, 6)}`,
    logger: false,
    metrics: { enabled: true, reporter: [] },
  });
  for (const name of Object.keys(env)) delete process.env[name];
  broker.createService({ name: "users", actions: { contact: () => USER } });
  const svc: any = broker.createService(require("../../services/notifications.service").default);
  const messaging = new FakeMessaging();
  svc.messaging = messaging;
  await broker.start();
  const handler: ChannelHandler = (payload, raw) =>
    svc.schema.channels[payload.type].handler.call(svc, { params: payload }, raw);
  return {
    broker,
    svc,
    messaging,
    handler,
    record: (evt: EventEnvelope): Promise<DeliveryDoc | null> =>
      svc.adapter.findOne({ eventId: evt.eventId, channel: "email" }),
    failedCount: (): number =>
      broker.metrics.getMetric(DELIVERIES)?.get({ channel: "email", status: "failed" })?.value ?? 0,
  };
}
type Node = Awaited<ReturnType<typeof notificationsNode>>;
const tmpDir = () => fs.mkdtempSync(path.join(os.tmpdir(), "notify-unit-"));

describe("a send whose 'sent' write fails", () => {
  let node: Node;
  beforeAll(async () => {
    node = await notificationsNode(tmpDir(), { NOTIFY_BACKOFF_MS: "5" });
  });
  afterAll(() => node.broker.stop());

  it("should send once and end sent after the write is retried", async () => {
    const db = node.svc.adapter.db;
    const update = db.updateAsync.bind(db);
    let failed = 0;
    jest.spyOn(db, "updateAsync").mockImplementation((query: any, change: any, opts: any) => {
      if (change?.$set?.status === "sent" && failed++ === 0)
        return Promise.reject(new Error("store unavailable"));
      return update(query, change, opts);
    });
    const evt = welcomeEvent();
    const answers = await deliverUntilSettled(node.handler, evt);
    expect(failed).toBeGreaterThan(0);
    expect(answers.at(-1)).toEqual({ kind: "ack" });
    expect(node.messaging.emails).toHaveLength(1);
    expect((await node.record(evt))?.status).toBe("sent");
  });
});

describe("a redelivery while another worker holds the lease", () => {
  let node: Node;
  beforeAll(async () => {
    node = await notificationsNode(tmpDir(), {});
  });
  afterAll(() => node.broker.stop());

  it("should send nothing and come back after the lease instead of being acknowledged", async () => {
    const evt = welcomeEvent();
    await node.svc.adapter.insert(abandonedRecord(evt, { leaseUntil: Date.now() + 60_000 }));
    const answer = await deliverOnce(node.handler, new FakeJsMessage(evt, 1));
    expect(answer).toEqual({ kind: "nak", delayMs: expect.any(Number) });
    expect((answer as any).delayMs).toBeGreaterThan(50_000);
    expect(node.messaging.attempts).toBe(0);
  });

  it("should send exactly one email once the dead worker's lease lapses", async () => {
    const evt = welcomeEvent();
    await node.svc.adapter.insert(abandonedRecord(evt, { leaseUntil: Date.now() + 300 }));
    const answers = await deliverUntilSettled(node.handler, evt);
    expect(answers.map((a) => a.kind)).toEqual(["nak", "ack"]);
    expect(node.messaging.emails).toHaveLength(1);
    expect(await node.record(evt)).toMatchObject({ status: "sent", owner: null });
  });
});

describe("a node killed between its send and the record of it", () => {
  let node: Node;
  beforeAll(async () => {
    node = await notificationsNode(tmpDir(), {});
  });
  afterAll(() => node.broker.stop());

  it("should send it again on takeover with the same Message-ID, so the receiver can drop the copy", async () => {
    const evt = welcomeEvent();
    await deliverUntilSettled(node.handler, evt);
    // What the dead node left: attempt 1 recorded, sent, but `sent` never written.
    await node.svc.adapter.removeById(deliveryId(evt.eventId, "email"));
    await node.svc.adapter.insert(abandonedRecord(evt, { attempts: 1, leaseUntil: Date.now() - 1 }));
    await deliverUntilSettled(node.handler, evt);
    const ids = node.messaging.emails.map((m) => m.messageId);
    expect(ids).toEqual([`<${evt.eventId}.email@shop.local>`, `<${evt.eventId}.email@shop.local>`]);
    expect(await node.record(evt)).toMatchObject({ status: "sent", attempts: 2 });
  });

  it("should give every other delivery a Message-ID of its own", async () => {
    const [a, b] = [welcomeEvent(), welcomeEvent()];
    await deliverUntilSettled(node.handler, a);
    await deliverUntilSettled(node.handler, b);
    const ids = node.messaging.emails.slice(-2).map((m) => m.messageId);
    expect(new Set(ids).size).toBe(2);
  });
});

describe("a node stopped while a delivery waits out its SMTP backoff", () => {
  const dataDir = tmpDir();
  let first: Node;
  let second: Node | undefined;
  const evt = welcomeEvent();
  let answer: Answer | undefined;
  beforeAll(async () => {
    // A backoff of ten minutes: only an aborted wait lets the stop through.
    first = await notificationsNode(dataDir, { NOTIFY_BACKOFF_MS: "600000" });
    first.messaging.failWith = connectionRefused;
    void deliverOnce(first.handler, new FakeJsMessage(evt)).then((a) => (answer = a));
    await first.messaging.attemptsReached(1);
    await first.broker.stop();
  });
  afterAll(() => second?.broker.stop());

  it("should have given the message back for redelivery by the time the stop resolves", () => {
    expect(answer).toEqual({ kind: "nak", delayMs: undefined });
  });

  it("should let the next worker send it at once, exactly once", async () => {
    second = await notificationsNode(dataDir, {});
    const answers = await deliverUntilSettled(second.handler, evt);
    expect(answers).toEqual([{ kind: "ack" }]);
    expect(second.messaging.emails).toHaveLength(1);
    expect(await second.record(evt)).toMatchObject({ status: "sent" });
  });
});

describe("a delivery that runs out of attempts", () => {
  let node: Node;
  beforeAll(async () => {
    node = await notificationsNode(tmpDir(), { NOTIFY_MAX_ATTEMPTS: "3", NOTIFY_BACKOFF_MS: "1" });
    node.messaging.failWith = connectionRefused;
  });
  afterAll(() => node.broker.stop());

  it("should be failed, listed and counted after the last attempt", async () => {
    const evt = welcomeEvent();
    const before = node.failedCount();
    expect(await deliverUntilSettled(node.handler, evt)).toEqual([{ kind: "ack" }]);
    const page = await node.broker.call("notifications.list", {}, { meta: { user: { id: USER.id } } });
    expect((page as any).rows).toContainEqual(
      expect.objectContaining({ eventId: evt.eventId, channel: "email", status: "failed" }),
    );
    expect(node.failedCount() - before).toBe(1);
  });

  it("should continue a dead worker's count of attempts instead of starting over", async () => {
    const evt = welcomeEvent();
    await node.svc.adapter.insert(abandonedRecord(evt, { attempts: 2, leaseUntil: Date.now() - 1 }));
    const before = node.messaging.attempts;
    await deliverUntilSettled(node.handler, evt);
    expect(node.messaging.attempts - before).toBe(1);
    expect(await node.record(evt)).toMatchObject({ status: "failed", attempts: 3 });
  });
});

describe("an event that comes twice", () => {
  let node: Node;
  beforeAll(async () => {
    node = await notificationsNode(tmpDir(), {});
  });
  afterAll(() => node.broker.stop());

  it("should send one email, whatever store holds the records", async () => {
    const evt = welcomeEvent();
    await deliverUntilSettled(node.handler, evt);
    await deliverUntilSettled(node.handler, evt);
    expect(node.messaging.emails).toHaveLength(1);
  });
});

describe("two workers' leases on one delivery record", () => {
  let node: Node;
  beforeAll(async () => {
    node = await notificationsNode(tmpDir(), {});
  });
  afterAll(() => node.broker.stop());

  const workerOf = (owner: string, leaseMs: number) =>
    new DeliveryLeases(
      {
        insert: (doc) => node.svc.adapter.insert(doc),
        findOne: (query) => node.svc.adapter.findOne(query),
        updateOneIf: (filter, update) => node.svc.updateOneIf(filter, update),
      },
      owner,
      leaseMs,
    );
  const fresh = (evt: EventEnvelope) => ({
    eventId: evt.eventId,
    channel: "email" as const,
    template: "welcome",
    to: USER.email,
    userId: USER.id,
    status: "pending" as const,
    createdAt: Date.now(),
  });

  it("should keep a lapsed owner's late writes from clobbering the worker that took over", async () => {
    const evt = welcomeEvent();
    const slow = workerOf("slow-node", 1);
    const claimedBySlow = await slow.claim(fresh(evt));
    await new Promise((r) => setTimeout(r, 5));
    const claimedByNext = await workerOf("next-node", 60_000).claim(fresh(evt));
    expect(claimedBySlow.kind).toBe("held");
    expect(claimedByNext).toMatchObject({ kind: "held", held: { fence: 2 } });
    const slowHeld = (claimedBySlow as { held: Held }).held;
    expect(await slow.startAttempt(slowHeld, 1)).toBe(false);
    expect(await slow.markFailed(slowHeld, "late verdict")).toBe(false);
    await slow.release(slowHeld);
    expect(await node.record(evt)).toMatchObject({ status: "pending", owner: "next-node", fence: 2 });
  });

  it("should take over a pending record written before owners and fences existed", async () => {
    const evt = welcomeEvent();
    const { owner: _owner, fence: _fence, ...legacy } = abandonedRecord(evt, { leaseUntil: Date.now() - 1 });
    await node.svc.adapter.insert({ ...legacy, _id: randomUUID() });
    // MongoDB's unique (eventId, channel) index, which NeDB lacks, finds the old record.
    const mongoLike = new DeliveryLeases(
      {
        insert: async (doc) => {
          if (await node.svc.adapter.findOne({ eventId: doc.eventId, channel: doc.channel }))
            throw Object.assign(new Error("E11000 duplicate key"), { code: 11000 });
          return node.svc.adapter.insert(doc);
        },
        findOne: (query) => node.svc.adapter.findOne(query),
        updateOneIf: (filter, update) => node.svc.updateOneIf(filter, update),
      },
      "next-node",
      60_000,
    );
    expect(await mongoLike.claim(fresh(evt))).toMatchObject({ kind: "held", held: { fence: 1 } });
    expect(await node.record(evt)).toMatchObject({ owner: "next-node", fence: 1 });
  });
});
