import { randomUUID } from "node:crypto";
import type { ServiceBroker } from "moleculer";
import type { EventEnvelope } from "../../contracts";
import { publish } from "../../lib/channels";
import { ALL_SERVICES } from "../../lib/config";
import { member } from "../support/broker";
import { Cluster, describeE2E, freePort, sleep, waitFor, type NodeProcess } from "../support/cluster";
import { Mailpit } from "../support/mailpit";
import { TcpProxy } from "../support/tcp-proxy";

const ADMIN = { email: "notify-e2e@shop.test", password: "notify-e2e-password" };
import { TwilioStub } from "../support/twilio-stub";

describeE2E("notifications on their own node, with Mailpit and the Twilio stub", () => {
  let cluster: Cluster;
  let notifier: NodeProcess;
  let pub: ServiceBroker;
  let mail: Mailpit;
  const stub = new TwilioStub();
  /** The notifications node's way to Mailpit: "Mailpit down" closes it, not the shared Mailpit. */
  let smtp: TcpProxy;
  const placed: EventEnvelope<"order.placed">[] = [];
  let adminToken: string;
  let productId: string;

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

  /** A real order of two mugs ($25.98) through the API; its order.placed drives the notifications. */
  async function order(token: string): Promise<{ orderId: string; total: number }> {
    const res = await api(
      "POST",
      "/orders",
      {
        items: [{ productId, quantity: 2 }],
        payment: { method: "card", token: "tok_visa" },
        shippingAddress: {
          name: "Nora",
          line1: "1 Main St",
          city: "Springfield",
          postalCode: "12345",
          country: "US",
        },
      },
      token,
    );
    expect(res.status).toBe(201);
    return { orderId: res.body.id, total: res.body.total };
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
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
      ACCESS_TOKEN_TTL: "3600",
    });
    mail = new Mailpit(cluster.infra.MAILPIT_URL);
    const mailpitSmtp = new URL(cluster.infra.SMTP_URL);
    smtp = new TcpProxy(mailpitSmtp.hostname, Number(mailpitSmtp.port));
    await smtp.up();
    await cluster.add("gateway", ["api"]);
    notifier = await cluster.add("notify", ["notifications"], { SMTP_URL: `smtp://127.0.0.1:${smtp.port}` });
    await cluster.add(
      "rest",
      ALL_SERVICES.filter((s) => s !== "api" && s !== "notifications"),
    );
    await cluster.waitReady(60_000);
    pub = await member(cluster, [
      // Sees each order.placed as the checkout emitted it, so a test can deliver it again.
      {
        name: "spy",
        channels: { "order.placed": { group: "spy", handler: (ctx: any) => void placed.push(ctx.params) } },
      },
    ]);
    const login = await api("POST", "/user/login", ADMIN);
    expect(login.status).toBe(200);
    adminToken = login.body.accessToken;
    const created = await api(
      "POST",
      "/products",
      { name: "Mug", price: 1299, currency: "USD", stock: 100_000 },
      adminToken,
    );
    expect(created.status).toBe(201);
    productId = created.body.id;
  }, 120_000);

  afterAll(async () => {
    await pub?.stop();
    await cluster?.stopAll();
    await stub.stop();
    await smtp?.down();
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

  /** The order.placed envelope the checkout emitted for an order (seen by the spy group). */
  const eventOf = (orderId: string) =>
    waitFor(
      `order.placed of ${orderId}`,
      async () => placed.find((e) => e.data.orderId === orderId),
      30_000,
      100,
    );

  it("should send one confirmation email with the order id and total, and one SMS, even when the event comes three times", async () => {
    const u = await signup("+15551230001");
    const { orderId, total } = await order(u.token);
    expect(total).toBe(2598);
    const evt = await eventOf(orderId);
    await send(evt);
    await send(evt);
    await waitFor(
      "the confirmation email",
      async () => (await mail.to(u.email)).some((m) => m.Subject.includes(orderId)),
      30_000,
    );
    await waitFor("the SMS", async () => stub.messages.some((m) => m.to === "+15551230001"), 30_000);
    await sleep(2000);
    const confirmations = (await mail.to(u.email)).filter((m) => m.Subject.includes(orderId));
    expect(confirmations).toHaveLength(1);
    // The same on a resend after a crash, so Mailpit (--ignore-duplicate-ids) and Gmail drop it.
    expect(confirmations[0].MessageID).toBe(`${evt.eventId}.email@shop.local`);
    const text = await mail.text(confirmations[0].ID);
    expect(text).toContain(orderId);
    expect(text).toContain("$25.98");
    expect(text).toContain("Nora &lt;Tester&gt;");
    expect(stub.messages.filter((m) => m.to === "+15551230001")).toHaveLength(1);
    expect(stub.messages.find((m) => m.to === "+15551230001")!.body).toContain(orderId);
  });

  it("should retry the SMS after two 500s and mark it sent; an invalid number fails at once", async () => {
    const u = await signup("+15551230002");
    stub.failNext([500, 500]);
    const before = stub.attempts;
    const evt = await eventOf((await order(u.token)).orderId);
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
    const evt2 = await eventOf((await order(bad.token)).orderId);
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
    const { orderId } = await order(u.token);
    const evt = await eventOf(orderId);
    await waitFor(
      "both deliveries skipped",
      async () =>
        (await deliveries(u.token)).filter((d: any) => d.eventId === evt.eventId && d.status === "skipped")
          .length === 2,
      30_000,
    );
    expect((await mail.to(u.email)).filter((m) => m.Subject.includes(orderId))).toHaveLength(0);
    expect(stub.messages.filter((m) => m.to === "+15551230004")).toHaveLength(0);
  });

  it("should deliver all 20 confirmations, none twice, when SMTP was unreachable for 10 s while they were placed", async () => {
    const u = await signup();
    await waitFor("the welcome email", async () => (await mail.to(u.email)).length === 1, 30_000);
    const orders: string[] = [];
    await smtp.down();
    try {
      const started = Date.now();
      for (let i = 0; i < 20; i++) orders.push((await order(u.token)).orderId);
      await sleep(Math.max(0, 10_000 - (Date.now() - started)));
    } finally {
      await smtp.up();
    }
    await waitFor("20 confirmations", async () => (await mail.to(u.email)).length === 21, 90_000, 1000);
    await sleep(2000);
    const subjects = (await mail.to(u.email)).map((m) => m.Subject).filter((s) => s.includes("confirmed"));
    expect(subjects).toHaveLength(20);
    expect(new Set(subjects).size).toBe(20);
    for (const id of orders) expect(subjects.some((s) => s.includes(id))).toBe(true);
  }, 150_000);

  it("should send all 100 confirmations, none twice, after the notifications node was down while they were placed", async () => {
    const u = await signup();
    await waitFor("the welcome email", async () => (await mail.to(u.email)).length === 1, 30_000);
    await notifier.stop("SIGKILL");
    const orders: string[] = [];
    for (let i = 0; i < 100; i += 10)
      orders.push(
        ...(await Promise.all(Array.from({ length: 10 }, async () => (await order(u.token)).orderId))),
      );
    notifier.start();
    await waitFor("100 confirmations", async () => (await mail.to(u.email)).length === 101, 120_000, 1000);
    await sleep(2000);
    const subjects = (await mail.to(u.email)).map((m) => m.Subject).filter((s) => s.includes("confirmed"));
    expect(subjects).toHaveLength(100);
    expect(new Set(subjects).size).toBe(100);
    for (const id of orders) expect(subjects.some((s) => s.includes(id))).toBe(true);
  }, 180_000);

  /** A notifications node whose SMTP server is a closed local port: every send backs off. */
  async function nodeWithoutSmtp(name: string, backoffMs: number): Promise<NodeProcess> {
    return cluster.add(name, ["notifications"], {
      SMTP_URL: `smtp://127.0.0.1:${await freePort()}`,
      NOTIFY_BACKOFF_MS: String(backoffMs),
    });
  }
  const failedAttempts = (node: NodeProcess, eventId: string) =>
    node.output.split("\n").filter((l) => l.includes(eventId) && l.includes("attempt 1 failed")).length;
  /** Restarts the notifications node that has the real Mailpit, and waits for its subscriptions. */
  async function restartNotifier() {
    notifier.output = "";
    notifier.start();
    await waitFor("the notifications node to start", async () =>
      notifier.output.includes("started successfully"),
    );
  }

  it("should send exactly one welcome and one confirmation after the node holding them was SIGKILLed in its SMTP backoff", async () => {
    await notifier.stop("SIGTERM");
    const doomed = await nodeWithoutSmtp("notify-doomed", 5000);
    const u = await signup();
    const { orderId } = await order(u.token);
    const evt = await eventOf(orderId);
    await waitFor(
      "the doomed node to fail its first attempts",
      async () => failedAttempts(doomed, evt.eventId) === 1 && doomed.output.includes("welcome for"),
      30_000,
    );
    await doomed.stop("SIGKILL");
    await restartNotifier();
    await waitFor(
      "the welcome and the confirmation",
      async () => (await mail.to(u.email)).length >= 2,
      60_000,
      500,
    );
    await sleep(3000);
    const subjects = (await mail.to(u.email)).map((m) => m.Subject);
    expect(subjects).toHaveLength(2);
    expect(subjects.filter((s) => s.includes("Welcome"))).toHaveLength(1);
    expect(subjects.filter((s) => s.includes(orderId))).toHaveLength(1);
    const emails = (await deliveries(u.token)).filter((d: any) => d.channel === "email");
    expect(emails.map((d: any) => d.status)).toEqual(["sent", "sent"]);
  }, 120_000);

  it("should stop cleanly in its SMTP backoff and leave the email to the next node at once", async () => {
    await notifier.stop("SIGTERM");
    const stopping = await nodeWithoutSmtp("notify-stopping", 600_000);
    const u = await signup();
    await waitFor("the first attempt to fail", async () => stopping.output.includes("welcome for"), 30_000);
    await restartNotifier();
    // A stop that waited out the backoff would be cut short by bin/node.ts with exit code 1.
    expect(await stopping.stop("SIGTERM")).toBe(0);
    await waitFor("the welcome email", async () => (await mail.to(u.email)).length === 1, 30_000, 500);
    await sleep(2000);
    expect(await mail.to(u.email)).toHaveLength(1);
    expect(await deliveries(u.token)).toEqual([
      expect.objectContaining({ template: "welcome", status: "sent" }),
    ]);
  }, 120_000);
});
