/**
 * Outbound webhooks on the real services (NATS JetStream, the MongoDB API, Kafka for the bridge),
 * with local HTTP receivers started here. Two nodes run `webhooks`; one of them is SIGKILLed in
 * the middle of a stream.
 */
import { randomUUID } from "node:crypto";
import { ALL_SERVICES } from "../../lib/config";
import { Cluster, describeE2E, sleep, waitFor, type NodeProcess } from "../support/cluster";
import { ADDRESS } from "../support/fixtures";
import { jsonClient } from "../support/http";
import { WebhookReceiver, type Received } from "../support/webhook-receiver";

const ADMIN = { email: "webhooks-e2e@shop.test", password: "webhooks-e2e-password" };
const ORDER_EVENTS = ["order.placed", "order.paid", "order.payment_failed", "order.cancelled"];

type Plan = "paid" | "declined" | "cancelled";
const EXPECTED: Record<Plan, string[]> = {
  paid: ["order.placed", "order.paid"],
  declined: ["order.placed", "order.payment_failed"],
  cancelled: ["order.placed", "order.paid", "order.cancelled"],
};

/** The order id an order event is about. */
const orderOf = (r: Received): string | undefined => r.body?.data?.orderId;

describeE2E("outbound webhooks, on the real services", () => {
  const cluster = new Cluster({
    ADMIN_EMAIL: ADMIN.email,
    ADMIN_PASSWORD: ADMIN.password,
    RATE_LIMIT_PER_MINUTE: "10000000",
    AUTH_RATE_LIMIT_PER_MINUTE: "100000",
    ACCESS_TOKEN_TTL: "3600",
    WEBHOOK_ALLOW_HTTP: "1",
    WEBHOOK_ALLOW_PRIVATE: "1",
  });
  const http = jsonClient(() => cluster.baseUrl, 60_000);
  const webhookNodes: NodeProcess[] = [];
  const receivers: WebhookReceiver[] = [];
  let adminToken: string;
  let buyers: string[] = [];
  let productId: string;

  const receiver = async (answer?: ConstructorParameters<typeof WebhookReceiver>[0]) => {
    const r = await new WebhookReceiver(answer).start();
    receivers.push(r);
    return r;
  };
  const register = async (url: string, events: string[]) => {
    const res = await http("POST", "/api/webhooks", { url, events }, adminToken);
    expect(res.status).toBe(201);
    return res.body as { id: string; secret: string };
  };

  /** Places orders (a few at a time) as planned; the ids of each plan. */
  async function placeOrders(plans: Plan[], concurrency = 8): Promise<Map<string, Plan>> {
    const placed = new Map<string, Plan>();
    let next = 0;
    const worker = async () => {
      while (next < plans.length) {
        const i = next++;
        const plan = plans[i];
        const token = buyers[i % buyers.length];
        const res = await http(
          "POST",
          "/api/orders",
          {
            items: [{ productId, quantity: 1 }],
            payment: { method: "card", token: plan === "declined" ? "tok_chargeDeclined" : "tok_visa" },
            shippingAddress: ADDRESS,
          },
          token,
        );
        const order = plan === "declined" ? res.body?.data?.order : res.body;
        if (res.status >= 500)
          throw new Error(
            `${plan} order: ${res.status} ${JSON.stringify(res.body)}\n${cluster.errorLines()}`,
          );
        expect([plan, res.status]).toEqual([plan, plan === "declined" ? 402 : 201]);
        if (plan === "cancelled") {
          const cancelled = await http("POST", `/api/orders/${order.id}/cancel`, {}, token);
          expect(cancelled.status).toBe(200);
        }
        placed.set(order.id, plan);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    return placed;
  }

  /** Waits until the receiver accepted every event the orders are to produce. */
  const allAccepted = (r: WebhookReceiver, orders: Map<string, Plan>, timeoutMs = 120_000) => {
    const expected = [...orders.values()].reduce((n, plan) => n + EXPECTED[plan].length, 0);
    return waitFor(
      `${expected} events of ${orders.size} orders to be accepted`,
      async () =>
        new Set(
          r
            .accepted()
            .filter((x) => orders.has(orderOf(x)!))
            .map((x) => x.eventId),
        ).size >= expected,
      timeoutMs,
      500,
    );
  };

  /** Per order, the event types in the order the receiver accepted them. */
  const sequences = (r: WebhookReceiver, orders: Map<string, Plan>) => {
    const seen = new Map<string, string[]>();
    for (const x of r.accepted()) {
      const id = orderOf(x);
      if (!id || !orders.has(id)) continue;
      seen.set(id, [...(seen.get(id) ?? []), x.type]);
    }
    return seen;
  };

  beforeAll(async () => {
    await cluster.add("gateway", ["api"]);
    await cluster.add(
      "core",
      ALL_SERVICES.filter((s) => s !== "api" && s !== "webhooks"),
    );
    for (const n of [1, 2]) webhookNodes.push(await cluster.add(`webhooks${n}`, ["webhooks"]));
    await cluster.waitReady(90_000);
    const login = await http("POST", "/api/user/login", ADMIN);
    expect(login.status).toBe(200);
    adminToken = login.body.accessToken;
    const product = await http(
      "POST",
      "/api/products",
      {
        name: `Webhook mug ${randomUUID().slice(0, 8)}`,
        price: 1250,
        stock: 100_000,
        category: "webhooks-e2e",
      },
      adminToken,
    );
    expect(product.status).toBe(201);
    productId = product.body.id;
    buyers = [];
    for (let i = 0; i < 4; i++) {
      const res = await http("POST", "/api/user/signup", {
        email: `wh-buyer-${i}-${cluster.namespace}@shop.test`,
        password: "buyer-password",
        name: `Buyer ${i}`,
      });
      expect(res.status).toBe(201);
      buyers.push(res.body.accessToken);
    }
  }, 180_000);

  afterAll(async () => {
    await Promise.all(receivers.map((r) => r.stop()));
    await cluster.stopAll();
  });

  it("should show the secret only in the 201, and refuse an unknown event type with 422 on `events`", async () => {
    const r = await receiver();
    const created = await register(r.url, ["order.placed"]);
    expect(created.secret).toMatch(/^whsec_[0-9a-f]{64}$/);
    const list = await http("GET", "/api/webhooks?pageSize=100", undefined, adminToken);
    expect(list.status).toBe(200);
    const row = list.body.rows.find((x: any) => x.id === created.id);
    expect(row).toMatchObject({ url: r.url, events: ["order.placed"], active: true });
    expect(row).not.toHaveProperty("secret");
    const bad = await http("POST", "/api/webhooks", { url: r.url, events: ["order.shipped"] }, adminToken);
    expect(bad.status).toBe(422);
    expect(bad.body.data[0].field).toBe("events");
    expect((await http("DELETE", `/api/webhooks/${created.id}`, undefined, adminToken)).status).toBe(204);
  });

  it("should deliver every event of 200 orders exactly once to a healthy receiver, in each order's order, signed", async () => {
    const healthy = await receiver();
    const endpoint = await register(healthy.url, ["*"]);
    const plans: Plan[] = Array.from({ length: 200 }, (_, i) =>
      i % 10 === 3 ? "declined" : i % 5 === 1 ? "cancelled" : "paid",
    );
    const orders = await placeOrders(plans);
    await allAccepted(healthy, orders);
    // Anything sent twice would come within the next moments.
    await sleep(3000);

    const ours = healthy.requests.filter((x) => orders.has(orderOf(x)!));
    const ids = ours.map((x) => x.eventId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ours.every((x) => x.answered === 200)).toBe(true);
    expect(healthy.badSignatures(endpoint.secret)).toEqual([]);
    expect(ours.every((x) => x.body.eventId === x.eventId && x.headerType === x.type)).toBe(true);
    const seen = sequences(healthy, orders);
    for (const [orderId, plan] of orders)
      expect([orderId, seen.get(orderId)]).toEqual([orderId, EXPECTED[plan]]);

    const log = await http(
      "GET",
      `/api/webhooks/${endpoint.id}/deliveries?pageSize=5`,
      undefined,
      adminToken,
    );
    expect(log.status).toBe(200);
    expect(log.body.rows[0]).toMatchObject({
      status: "delivered",
      attempts: 1,
      lastStatusCode: 200,
      lastError: null,
    });
    expect(log.body.rows[0].deliveredAt).toEqual(expect.any(String));
  }, 300_000);

  it("should get everything to a receiver that answers 500 for 10 s, then 200", async () => {
    let firstAt = 0;
    const flaky = await receiver(() => {
      firstAt ||= Date.now();
      return Date.now() - firstAt < 10_000 ? 500 : 200;
    });
    const endpoint = await register(flaky.url, ORDER_EVENTS);
    const orders = await placeOrders(Array.from({ length: 20 }, (): Plan => "paid"));
    await allAccepted(flaky, orders, 180_000);

    expect(flaky.requests.some((x) => x.answered === 500)).toBe(true);
    const seen = sequences(flaky, orders);
    for (const [orderId, plan] of orders)
      expect([orderId, seen.get(orderId)]).toEqual([orderId, EXPECTED[plan]]);
    const log = await http(
      "GET",
      `/api/webhooks/${endpoint.id}/deliveries?pageSize=100`,
      undefined,
      adminToken,
    );
    expect(log.body.total).toBe(40);
    expect(log.body.rows.every((d: any) => d.status === "delivered")).toBe(true);
    expect(log.body.rows.some((d: any) => d.attempts > 1)).toBe(true);
  }, 300_000);

  it("should lose nothing when a node running webhooks is SIGKILLed mid-stream", async () => {
    // A slow receiver keeps deliveries in flight on both nodes.
    const slow = await receiver(async () => {
      await sleep(150);
      return 200;
    });
    const endpoint = await register(slow.url, ORDER_EVENTS);
    // One node left, so the one killed is the one with deliveries in flight and messages unacknowledged.
    await webhookNodes[1].stop("SIGTERM");
    const placing = placeOrders(
      Array.from({ length: 80 }, (): Plan => "paid"),
      4,
    );
    await waitFor(
      "the stream to be under way, requests in flight",
      async () => slow.accepted().length >= 15 && slow.inProgress >= 2,
      60_000,
      20,
    );
    await webhookNodes[0].stop("SIGKILL");
    const orders = await placing;
    expect(new Set(slow.accepted().map((x) => x.eventId)).size).toBeLessThan(160);
    // A new node resumes the recorded deliveries once the dead node's leases lapse (2x the
    // timeout + 5 s), and JetStream gives it the messages the dead node had not acknowledged.
    webhookNodes[0] = await cluster.add("webhooks1b", ["webhooks"]);
    await allAccepted(slow, orders, 180_000);
    // And the log says so: nothing left pending under the dead node's lease.
    const log = await waitFor(
      "every delivery to be logged delivered",
      async () => {
        const rows: any[] = [];
        for (const page of [1, 2]) {
          const res = await http(
            "GET",
            `/api/webhooks/${endpoint.id}/deliveries?pageSize=100&page=${page}`,
            undefined,
            adminToken,
          );
          rows.push(...res.body.rows);
        }
        return rows.length === 160 && rows.every((d) => d.status === "delivered") ? rows : undefined;
      },
      60_000,
      1000,
    );
    // The requests the dead node had in flight were sent again.
    expect(log.some((d) => d.attempts > 1)).toBe(true);
    const seen = sequences(slow, orders);
    const dedup = (types: string[]) => types.filter((t, i) => types.indexOf(t) === i);
    for (const [orderId, plan] of orders)
      expect([orderId, dedup(seen.get(orderId)!)]).toEqual([orderId, EXPECTED[plan]]);
    webhookNodes[1] = await cluster.add("webhooks2b", ["webhooks"]);
  }, 300_000);
});
