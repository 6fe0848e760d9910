import { randomUUID } from "node:crypto";
import type { ServiceBroker } from "moleculer";
import { KafkaTopics, type EventEnvelope, type EventName } from "../../contracts";
import { publish, streamName } from "../../lib/channels";
import { ALL_SERVICES } from "../../lib/config";
import { member } from "../support/broker";
import { Cluster, describeE2E, infraCtl, sleep, waitFor, type NodeProcess } from "../support/cluster";
import { TopicReader } from "../support/kafka";
import { jsonClient } from "../support/http";

const SAMPLE: Partial<Record<EventName, (id: string) => any>> = {
  "user.registered": (id) => ({ userId: id, email: `${id}@example.com`, name: "Ada" }),
  "product.created": (id) => ({
    productId: id,
    sku: "SKU-1",
    name: "Mug",
    price: 1299,
    currency: "USD",
    category: "kitchen",
    active: true,
  }),
  "product.updated": (id) => ({
    productId: id,
    sku: "SKU-1",
    name: "Mug",
    price: 999,
    currency: "USD",
    category: "kitchen",
    active: true,
  }),
  "product.deleted": (id) => ({ productId: id }),
  "order.placed": (id) => ({ orderId: id, userId: "u1", items: [], total: 1299, currency: "USD" }),
  "order.paid": (id) => ({ orderId: id, userId: "u1", paymentId: "p1", total: 1299, currency: "USD" }),
  "order.cancelled": (id) => ({ orderId: id, userId: "u1", reason: "customer" }),
  "order.payment_failed": (id) => ({ orderId: id, userId: "u1", reason: "declined" }),
  "inventory.low": (id) => ({ productId: id, available: 2, threshold: 5 }),
};

const ADMIN = { email: "kafka-e2e@shop.test", password: "kafka-e2e-password" };
const ADDRESS = { name: "Kim", line1: "3 Quay St", city: "Springfield", postalCode: "12345", country: "US" };
const orderBody = (productId: string, token = "tok_visa", quantity = 1) => ({
  items: [{ productId, quantity }],
  payment: { method: "card", token },
  shippingAddress: ADDRESS,
});

function envelope(type: EventName, key: string, data: any = SAMPLE[type]!(key)): EventEnvelope {
  return { eventId: randomUUID(), type, version: 1, occurredAt: new Date().toISOString(), key, data };
}

describeE2E("the Kafka bridge on its own node, against the real Kafka 4 broker", () => {
  let cluster: Cluster;
  let bridge: NodeProcess;
  let pub: ServiceBroker;
  let reader: TopicReader;
  let inTopic: string;

  let adminToken: string;

  const http = jsonClient(() => cluster.baseUrl, 60_000);
  const signup = async (tag: string) => {
    const res = await http("POST", "/api/user/signup", {
      email: `kafka-${tag}-${randomUUID().slice(0, 8)}-${cluster.namespace}@shop.test`,
      password: "buyer-password",
      name: `Buyer ${tag}`,
    });
    expect(res.status).toBe(201);
    return { token: res.body.accessToken as string, user: res.body.user };
  };
  const createProduct = async (stock: number, price = 1250) => {
    const res = await http(
      "POST",
      "/api/products",
      { name: `Kafka E2E ${randomUUID().slice(0, 8)}`, price, stock, category: "kafka-e2e" },
      adminToken,
    );
    expect(res.status).toBe(201);
    return res.body;
  };
  /** The one record on `topic` with this key (waits for it). */
  const recordOf = (topic: string, key: string) =>
    waitFor(
      `a ${topic} record with key ${key}`,
      async () => {
        const found = reader.records.filter((r) => r.topic === topic && r.key === key);
        return found.length ? found : undefined;
      },
      60_000,
      250,
    );
  const send = (evt: EventEnvelope) => publish(pub, evt.type, evt, { "event-id": evt.eventId });
  const status = () => pub.call("kafka-bridge.status", {}, { timeout: 5000 }) as Promise<any>;

  beforeAll(async () => {
    cluster = new Cluster({
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
      RATE_LIMIT_PER_MINUTE: "10000000",
      AUTH_RATE_LIMIT_PER_MINUTE: "100000",
      ACCESS_TOKEN_TTL: "3600",
    });
    inTopic = `${cluster.namespace}_adjustments`;
    bridge = await cluster.add("bridge", ["kafka-bridge"], {
      KAFKA_INBOUND: `${inTopic}:inventory.adjust`,
      KAFKA_LINGER_MS: "5",
    });
    await cluster.add("gateway", ["api"]);
    await cluster.add(
      "rest",
      ALL_SERVICES.filter((s) => s !== "api" && s !== "kafka-bridge"),
    );
    await cluster.waitReady(90_000);
    pub = await member(cluster);
    await pub.waitForServices(["kafka-bridge"], 30_000);
    await waitFor("the bridge to connect to Kafka", async () => (await status()).connected, 60_000, 500);
    reader = new TopicReader(cluster.infra.KAFKA_BROKERS);
    await reader.start([
      ...new Set(Object.values(KafkaTopics).filter((t): t is string => Boolean(t))),
      `${inTopic}.dlq`,
    ]);
    const login = await http("POST", "/api/user/login", ADMIN);
    expect(login.status).toBe(200);
    adminToken = login.body.accessToken;
  }, 150_000);

  afterAll(async () => {
    await reader?.stop();
    await pub?.stop();
    await cluster?.stopAll();
  });

  it("should put each domain event on its topic with the envelope, key and headers of the contract", async () => {
    const sent = Object.keys(SAMPLE).map((type) => envelope(type as EventName, randomUUID()));
    for (const evt of sent) await send(evt);
    const ids = new Set(sent.map((e) => e.eventId));
    await waitFor("every record on Kafka", async () => reader.byEventId(ids).length === sent.length, 30_000);
    for (const evt of sent) {
      const rec = reader.byEventId(new Set([evt.eventId]))[0];
      expect(rec.topic).toBe(KafkaTopics[evt.type]);
      expect(rec.key).toBe(evt.key);
      expect(rec.headers).toMatchObject({
        "event-id": evt.eventId,
        "event-type": evt.type,
        "event-version": "1",
      });
      expect(rec.value).toEqual({
        eventId: evt.eventId,
        type: evt.type,
        version: 1,
        occurredAt: evt.occurredAt,
        data: evt.data,
      });
    }
  });

  it("should put the real services' events on Kafka with the contract's envelope, key and headers", async () => {
    /** The record's envelope, key and headers as API.md has them, with `data` exactly `data`. */
    const check = async (topic: string, key: string, type: EventName, data: unknown) => {
      const found = await recordOf(topic, key);
      const rec = found.find((r) => r.value?.type === type)!;
      expect(found).toHaveLength(1);
      expect(rec.key).toBe(key);
      expect(rec.value).toEqual({
        eventId: expect.any(String),
        type,
        version: 1,
        occurredAt: expect.any(String),
        data,
      });
      expect(Object.keys(rec.value).sort()).toEqual(["data", "eventId", "occurredAt", "type", "version"]);
      expect(new Date(rec.value.occurredAt).toISOString()).toBe(rec.value.occurredAt);
      expect(rec.headers).toMatchObject({
        "event-id": rec.value.eventId,
        "event-type": type,
        "event-version": "1",
      });
      return rec;
    };

    // Users: signup.
    const buyer = await signup("real");
    await check("user_registered", buyer.user.id, "user.registered", {
      userId: buyer.user.id,
      email: buyer.user.email,
      name: buyer.user.name,
    });

    // Products: create, update, delete (a product of its own, so its records are just these).
    const productData = (p: any) => ({
      productId: p.id,
      sku: p.sku,
      name: p.name,
      price: p.price,
      currency: p.currency,
      category: p.category,
      active: p.active,
      variants: p.variants.map((v: any) => ({
        variantId: v.id,
        sku: v.sku,
        price: v.price,
        active: v.active,
      })),
    });
    const temp = await createProduct(0, 700);
    await check("product_created", temp.id, "product.created", productData(temp));
    const patched = await http(
      "PATCH",
      `/api/products/${temp.id}`,
      { price: 650, name: "Renamed" },
      adminToken,
    );
    expect(patched.status).toBe(200);
    await check("product_updated", temp.id, "product.updated", productData(patched.body));
    expect((await http("DELETE", `/api/products/${temp.id}`, undefined, adminToken)).status).toBe(204);
    await check("product_deleted", temp.id, "product.deleted", { productId: temp.id });

    // Orders: paid, then cancelled; and one with a declined card.
    const p = await createProduct(10, 1250);
    const placed = await http("POST", "/api/orders", orderBody(p.id, "tok_visa", 2), buyer.token);
    expect(placed.status).toBe(201);
    const order = placed.body;
    const cancelled = await http("POST", `/api/orders/${order.id}/cancel`, undefined, buyer.token);
    expect(cancelled.status).toBe(200);
    const declined = await http("POST", "/api/orders", orderBody(p.id, "tok_chargeDeclined"), buyer.token);
    expect(declined.status).toBe(402);
    const failed = declined.body.data.order;

    const recPlaced = await check("order_placed", order.id, "order.placed", {
      orderId: order.id,
      userId: buyer.user.id,
      items: order.items,
      total: order.total,
      currency: order.currency,
      ...{ subtotal: order.subtotal, discountTotal: 0, shippingTotal: 0, taxTotal: 0 },
    });
    const recPaid = await check("order_paid", order.id, "order.paid", {
      orderId: order.id,
      userId: buyer.user.id,
      paymentId: order.payment.id,
      total: order.total,
      currency: order.currency,
    });
    const recCancelled = await check("order_cancelled", order.id, "order.cancelled", {
      orderId: order.id,
      userId: buyer.user.id,
      reason: "cancelled_by_customer",
    });
    await check("order_payment_failed", failed.id, "order.payment_failed", {
      orderId: failed.id,
      userId: buyer.user.id,
      reason: "card_declined",
    });
    const times = [recPlaced, recPaid, recCancelled].map((r) => Date.parse(r.value.occurredAt));
    expect(times[0]).toBeLessThan(times[1]);
    expect(times[1]).toBeLessThan(times[2]);
    const eventIds = [recPlaced, recPaid, recCancelled].map((r) => r.value.eventId);
    expect(new Set(eventIds).size).toBe(3);
  }, 120_000);

  it("should keep the records of one aggregate in the order its events happened", async () => {
    const productId = randomUUID();
    const sent: EventEnvelope[] = [];
    for (let i = 0; i < 50; i++) {
      const evt = envelope("product.updated", productId, {
        ...SAMPLE["product.updated"]!(productId),
        name: `v${i}`,
      });
      sent.push(evt);
      await send(evt);
    }
    const ids = new Set(sent.map((e) => e.eventId));
    await waitFor("all 50 records", async () => reader.byEventId(ids).length === 50, 30_000);
    const got = reader.byEventId(ids).sort((a, b) => Number(a.offset) - Number(b.offset));
    expect(new Set(got.map((r) => r.partition)).size).toBe(1);
    expect(got.map((r) => r.value.data.name)).toEqual(sent.map((e) => e.data && (e.data as any).name));
  });

  it("should hold the backlog while Kafka is down for 30 s and deliver all 1,000 real orders' records once it is back", async () => {
    const ORDERS = 1000;
    const CONCURRENCY = 20;
    const buyers = await Promise.all(Array.from({ length: 10 }, (_, i) => signup(`outage${i}`)));
    const p = await createProduct(ORDERS + 10, 500);
    const orderIds = new Set<string>();
    const statuses: Record<number, number> = {};
    let next = 0;
    await infraCtl("down", "kafka");
    const started = Date.now();
    try {
      const worker = async () => {
        for (let i = next++; i < ORDERS; i = next++) {
          const buyer = buyers[i % buyers.length];
          const res = await http("POST", "/api/orders", orderBody(p.id), buyer.token);
          statuses[res.status] = (statuses[res.status] ?? 0) + 1;
          if (res.status === 201) orderIds.add(res.body.id);
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
      console.log(
        `Kafka outage: ${ORDERS} orders placed through POST /api/orders in ${Date.now() - started} ms with Kafka down, statuses ${JSON.stringify(statuses)}`,
      );
      expect(statuses).toEqual({ 201: ORDERS });
      expect(orderIds.size).toBe(ORDERS);
      await waitFor("the bridge to notice the outage", async () => !(await status()).connected, 30_000, 500);
      expect((await status()).backlog).toBeGreaterThan(0);
      const ready = await fetch(`${cluster.baseUrl}/health/ready`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ status: "degraded", checks: { kafka: "down" } });
      await sleep(Math.max(0, 30_000 - (Date.now() - started)));
    } finally {
      await infraCtl("up", "kafka");
    }
    const placedRecords = () =>
      reader.records.filter((r) => r.topic === "order_placed" && orderIds.has(r.value?.data?.orderId));
    await waitFor(
      `all ${ORDERS} order_placed records after Kafka returned`,
      async () => new Set(placedRecords().map((r) => r.value.data.orderId)).size === ORDERS,
      180_000,
      1000,
    );
    const records = placedRecords();
    const duplicates = records.length - new Set(records.map((r) => r.headers["event-id"])).size;
    // Where a duplicate could come from: JetStream messages of the stream vs redeliveries to the bridge.
    const adapter = (pub as any).channelAdapter;
    const stream = streamName(adapter.addPrefixTopic("order.placed"));
    const js = await adapter.manager.streams.info(stream).catch(() => null);
    const consumer = await adapter.manager.consumers.info(stream, "kafka-bridge").catch(() => null);
    console.log(
      `Kafka outage: ${ORDERS} real orders, ${records.length} order_placed records, ${duplicates} duplicate eventIds ` +
        `(JetStream ${stream}: ${js?.state?.messages} messages, ${consumer ? consumer.delivered.consumer_seq - consumer.delivered.stream_seq : "?"} redeliveries to the bridge)`,
    );
    expect(duplicates).toBe(0);
    for (const r of records) expect(r.key).toBe(r.value.data.orderId);
    await waitFor("the backlog to drain", async () => (await status()).backlog === 0, 60_000, 500);
  }, 420_000);

  it("should miss no record when the bridge node is SIGKILLed mid-stream and restarted", async () => {
    const sent: EventEnvelope[] = [];
    const ids = new Set<string>();
    const produce = async () => {
      for (let i = 0; i < 1000; i++) {
        const evt = envelope("order.paid", randomUUID());
        sent.push(evt);
        ids.add(evt.eventId);
        await send(evt);
      }
    };
    const producing = produce();
    await waitFor("some records to be on Kafka", async () => reader.byEventId(ids).length > 100, 30_000, 50);
    await bridge.stop("SIGKILL");
    await producing;
    bridge.start();
    await waitFor(
      "every record after the restart",
      async () => new Set(reader.byEventId(ids).map((r) => r.headers["event-id"])).size === 1000,
      120_000,
      1000,
    );
    const records = reader.byEventId(ids);
    console.log(
      `bridge SIGKILL: 1000 events, ${records.length} records, ${records.length - 1000} duplicates (a crash between Kafka's ack and the channel's ack may double a record)`,
    );
    // Every event is there, and a duplicate is a copy of its event under the same eventId.
    const byId = new Map(sent.map((e) => [e.eventId, e]));
    expect(new Set(records.map((r) => r.value.eventId))).toEqual(ids);
    for (const r of records) {
      const evt = byId.get(r.headers["event-id"])!;
      expect(r.value).toEqual({
        eventId: evt.eventId,
        type: evt.type,
        version: 1,
        occurredAt: evt.occurredAt,
        data: evt.data,
      });
      expect(r.key).toBe(evt.key);
    }
  }, 240_000);

  it("should change stock through inventory from an inbound record, and send a malformed one to the DLQ without blocking", async () => {
    await waitFor("the bridge to connect to Kafka", async () => (await status()).connected, 60_000, 500);
    const productId = randomUUID();
    await pub.call(
      "inventory.init",
      { productId, available: 10 },
      { meta: { user: { id: "admin", role: "admin" } } },
    );
    const available = async () => ((await pub.call("inventory.get", { productId })) as any).available;
    const producer = reader.kafka.producer();
    await producer.connect();
    await producer.send({
      topic: inTopic,
      messages: [
        { key: productId, value: JSON.stringify({ adjustmentId: randomUUID(), productId, delta: 5 }) },
        { key: productId, value: "{not json" },
        { key: productId, value: JSON.stringify({ adjustmentId: randomUUID(), productId, delta: -2 }) },
      ],
    });
    await producer.disconnect();
    await waitFor("both adjustments applied", async () => (await available()) === 13, 60_000, 250);
    await waitFor(
      "the malformed record in the DLQ",
      async () => reader.records.some((r) => r.topic === `${inTopic}.dlq` && r.key === productId),
      30_000,
    );
  }, 120_000);
  it("should give one key's records an event-seq in publish order whichever of two bridge nodes produced them", async () => {
    const second = await cluster.add("bridge2", ["kafka-bridge"], { KAFKA_LINGER_MS: "5" });
    try {
      const statusOf = (node: NodeProcess) =>
        pub.call("kafka-bridge.status", {}, { nodeID: node.nodeID, timeout: 5000 }) as Promise<any>;
      await waitFor(
        "the second bridge to connect to Kafka",
        async () => (await statusOf(second)).connected,
        60_000,
        500,
      );
      const producedBefore = await Promise.all(
        [bridge, second].map(async (n) => (await statusOf(n)).produced),
      );
      const productId = randomUUID();
      const sent: EventEnvelope[] = [];
      for (let i = 0; i < 200; i++) {
        const evt = envelope("product.updated", productId, {
          ...SAMPLE["product.updated"]!(productId),
          name: `v${i}`,
        });
        sent.push(evt);
        await send(evt);
        if (i % 10 === 9) await sleep(20); // a trickle, so both bridges take some of it
      }
      const ids = new Set(sent.map((e) => e.eventId));
      await waitFor(
        "all 200 records",
        async () => new Set(reader.byEventId(ids).map((r) => r.headers["event-id"])).size === 200,
        60_000,
      );
      const producedAfter = await Promise.all(
        [bridge, second].map(async (n) => (await statusOf(n)).produced),
      );
      // Both nodes took part (otherwise this would be the one-bridge case again).
      expect(producedAfter[0]).toBeGreaterThan(producedBefore[0]);
      expect(producedAfter[1]).toBeGreaterThan(producedBefore[1]);
      const bySeq = [...new Map(reader.byEventId(ids).map((r) => [r.headers["event-id"], r])).values()].sort(
        (a, b) => Number(a.headers["event-seq"]) - Number(b.headers["event-seq"]),
      );
      expect(bySeq.every((r) => /^[0-9]+$/.test(r.headers["event-seq"]))).toBe(true);
      expect(bySeq.map((r) => r.value.data.name)).toEqual(sent.map((e) => (e.data as any).name));
    } finally {
      await second.stop("SIGKILL");
    }
  }, 180_000);
});
