import { randomUUID } from "node:crypto";
import type { ServiceBroker } from "moleculer";
import type { EventEnvelope } from "../../contracts";
import { publish } from "../../lib/channels";
import { ALL_SERVICES } from "../../lib/config";
import { member } from "../support/broker";
import { Cluster, describeE2E, infraCtl, sleep, waitFor, type NodeProcess } from "../support/cluster";
import { Mailpit } from "../support/mailpit";
import { TwilioStub } from "../support/twilio-stub";

describeE2E("notifications on their own node, with Mailpit and the Twilio stub", () => {
  let cluster: Cluster;
  let notifier: NodeProcess;
  let pub: ServiceBroker;
  let mail: Mailpit;
  const stub = new TwilioStub();

  const api = async (method: string, path: string, body?: unknown, token?: string) => {
    const res = await fetch(`${cluster.baseUrl}/api${path}`, {
      method,
      headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  };

  async function signup(phone?: string) {
    const email = `n-${randomUUID().slice(0, 8)}@example.com`;
    const res = await api("POST", "/user/signup", {
      email,
      password: "correct horse 1",
      name: "Nora <Tester>",
      phone,
    });
    expect(res.status).toBe(201);
    return { email, id: res.body.user.id as string, token: res.body.accessToken as string };
  }

  /** An order.placed event as the checkout emits it (published straight to its durable channel). */
  function orderPlaced(userId: string, total = 2598): EventEnvelope<"order.placed"> {
    const orderId = randomUUID();
    return {
      eventId: randomUUID(),
      type: "order.placed",
      version: 1,
      occurredAt: new Date().toISOString(),
      key: orderId,
      data: {
        orderId,
        userId,
        currency: "USD",
        total,
        items: [{ productId: "p1", name: "Mug", unitPrice: 1299, quantity: 2, lineTotal: 2598 }],
      },
    };
  }
  const send = (evt: EventEnvelope) => publish(pub, evt.type, evt, { "event-id": evt.eventId });
  const deliveries = async (token: string) =>
    (await api("GET", "/notifications?pageSize=100", undefined, token)).body.rows;

  beforeAll(async () => {
    const stubUrl = await stub.start();
    cluster = new Cluster({
      AUTH_RATE_LIMIT_PER_MINUTE: "100000",
      RATE_LIMIT_PER_MINUTE: "1000000",
      TWILIO_ACCOUNT_SID: "AC00000000000000000000000000000000",
      TWILIO_AUTH_TOKEN: "test-token",
      TWILIO_FROM: "+15550000000",
      TWILIO_API_BASE: stubUrl,
    });
    mail = new Mailpit(cluster.infra.MAILPIT_URL);
    await cluster.add("gateway", ["api"]);
    notifier = await cluster.add("notify", ["notifications"]);
    await cluster.add(
      "rest",
      ALL_SERVICES.filter((s) => s !== "api" && s !== "notifications"),
    );
    await cluster.waitReady(60_000);
    pub = await member(cluster);
  }, 120_000);

  afterAll(async () => {
    await pub?.stop();
    await cluster?.stopAll();
    await stub.stop();
  });

  it("should send exactly one welcome email to a new user", async () => {
    const u = await signup();
    await waitFor("the welcome email", async () => (await mail.to(u.email)).length === 1, 30_000);
    await sleep(1500);
    const msgs = await mail.to(u.email);
    expect(msgs).toHaveLength(1);
    expect(msgs[0].Subject).toContain("Welcome");
    const rows = await deliveries(u.token);
    expect(rows).toEqual([
      expect.objectContaining({ channel: "email", template: "welcome", to: u.email, status: "sent" }),
    ]);
  });

  it("should send one confirmation email with the order id and total, and one SMS, even when the event comes three times", async () => {
    const u = await signup("+15551230001");
    const evt = orderPlaced(u.id);
    for (let i = 0; i < 3; i++) await send(evt);
    await waitFor(
      "the confirmation email",
      async () => (await mail.to(u.email)).some((m) => m.Subject.includes(evt.data.orderId)),
      30_000,
    );
    await waitFor("the SMS", async () => stub.messages.some((m) => m.to === "+15551230001"), 30_000);
    await sleep(2000);
    const confirmations = (await mail.to(u.email)).filter((m) => m.Subject.includes(evt.data.orderId));
    expect(confirmations).toHaveLength(1);
    const text = await mail.text(confirmations[0].ID);
    expect(text).toContain(evt.data.orderId);
    expect(text).toContain("$25.98");
    expect(text).toContain("Nora &lt;Tester&gt;");
    expect(stub.messages.filter((m) => m.to === "+15551230001")).toHaveLength(1);
    expect(stub.messages.find((m) => m.to === "+15551230001")!.body).toContain(evt.data.orderId);
  });

  it("should retry the SMS after two 500s and mark it sent; an invalid number fails at once", async () => {
    const u = await signup("+15551230002");
    stub.failNext([500, 500]);
    const before = stub.attempts;
    const evt = orderPlaced(u.id);
    await send(evt);
    await waitFor(
      "the SMS delivery to be sent",
      async () =>
        (await deliveries(u.token)).some(
          (d: any) => d.channel === "sms" && d.eventId === evt.eventId && d.status === "sent",
        ),
      30_000,
    );
    expect(stub.attempts - before).toBe(3);
    expect(stub.messages.filter((m) => m.to === "+15551230002")).toHaveLength(1);

    const bad = await signup("+15551230003");
    stub.failNext([400]);
    const before2 = stub.attempts;
    const evt2 = orderPlaced(bad.id);
    await send(evt2);
    await waitFor(
      "the SMS delivery to fail",
      async () =>
        (await deliveries(bad.token)).some(
          (d: any) => d.channel === "sms" && d.eventId === evt2.eventId && d.status === "failed",
        ),
      30_000,
    );
    await sleep(1500);
    expect(stub.attempts - before2).toBe(1);
  });

  it("should skip and send nothing when the user turned notifications off", async () => {
    const u = await signup("+15551230004");
    await waitFor("the welcome email", async () => (await mail.to(u.email)).length === 1, 30_000);
    const patch = await api("PATCH", "/user/me", { notifications: { email: false, sms: false } }, u.token);
    expect(patch.status).toBe(200);
    const evt = orderPlaced(u.id);
    await send(evt);
    await waitFor(
      "both deliveries skipped",
      async () =>
        (await deliveries(u.token)).filter((d: any) => d.eventId === evt.eventId && d.status === "skipped")
          .length === 2,
      30_000,
    );
    expect((await mail.to(u.email)).filter((m) => m.Subject.includes(evt.data.orderId))).toHaveLength(0);
    expect(stub.messages.filter((m) => m.to === "+15551230004")).toHaveLength(0);
  });

  it("should deliver all 20 confirmations, none twice, when Mailpit was down for 10 s while they were placed", async () => {
    const u = await signup();
    await waitFor("the welcome email", async () => (await mail.to(u.email)).length === 1, 30_000);
    const events = Array.from({ length: 20 }, () => orderPlaced(u.id));
    await infraCtl("down", "mailpit");
    try {
      for (const evt of events) await send(evt);
      await sleep(10_000);
    } finally {
      await infraCtl("up", "mailpit");
    }
    await waitFor("20 confirmations", async () => (await mail.to(u.email)).length === 21, 90_000, 1000);
    await sleep(2000);
    const subjects = (await mail.to(u.email)).map((m) => m.Subject).filter((s) => s.includes("confirmed"));
    expect(subjects).toHaveLength(20);
    expect(new Set(subjects).size).toBe(20);
  }, 150_000);

  it("should send all 100 confirmations, none twice, after the notifications node was down while they were placed", async () => {
    const u = await signup();
    await waitFor("the welcome email", async () => (await mail.to(u.email)).length === 1, 30_000);
    await notifier.stop("SIGKILL");
    const events = Array.from({ length: 100 }, () => orderPlaced(u.id));
    for (const evt of events) await send(evt);
    notifier.start();
    await waitFor("100 confirmations", async () => (await mail.to(u.email)).length === 101, 120_000, 1000);
    await sleep(2000);
    const subjects = (await mail.to(u.email)).map((m) => m.Subject).filter((s) => s.includes("confirmed"));
    expect(subjects).toHaveLength(100);
    expect(new Set(subjects).size).toBe(100);
  }, 180_000);
});
