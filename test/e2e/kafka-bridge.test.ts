import { randomUUID } from "node:crypto";
import type { ServiceBroker } from "moleculer";
import { KafkaTopics, type EventEnvelope, type EventName } from "../../contracts";
import { publish } from "../../lib/channels";
import { ALL_SERVICES } from "../../lib/config";
import { member } from "../support/broker";
import { Cluster, describeE2E, infraCtl, sleep, waitFor, type NodeProcess } from "../support/cluster";
import { TopicReader } from "../support/kafka";

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

function envelope(type: EventName, key: string, data: any = SAMPLE[type]!(key)): EventEnvelope {
  return { eventId: randomUUID(), type, version: 1, occurredAt: new Date().toISOString(), key, data };
}

describeE2E("the Kafka bridge on its own node, against the real Kafka 4 broker", () => {
  let cluster: Cluster;
  let bridge: NodeProcess;
  let pub: ServiceBroker;
  let reader: TopicReader;
  let inTopic: string;

  const send = (evt: EventEnvelope) => publish(pub, evt.type, evt, { "event-id": evt.eventId });
  const status = () => pub.call("kafka-bridge.status", {}, { timeout: 5000 }) as Promise<any>;

  beforeAll(async () => {
    cluster = new Cluster();
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
    pub = await member(cluster);
    await pub.waitForServices(["kafka-bridge"], 30_000);
    await waitFor("the bridge to connect to Kafka", async () => (await status()).connected, 60_000, 500);
    reader = new TopicReader(cluster.infra.KAFKA_BROKERS);
    await reader.start([
      ...new Set(Object.values(KafkaTopics).filter((t): t is string => Boolean(t))),
      `${inTopic}.dlq`,
    ]);
  }, 120_000);

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

  it("should hold the backlog while Kafka is down for 30 s and deliver all 1,000 records once it is back", async () => {
    await infraCtl("down", "kafka");
    const sent: EventEnvelope[] = [];
    const started = Date.now();
    try {
      for (let i = 0; i < 1000; i++) {
        const evt = envelope("order.placed", randomUUID());
        sent.push(evt);
        await send(evt);
      }
      await waitFor("the bridge to notice the outage", async () => !(await status()).connected, 30_000, 500);
      expect((await status()).backlog).toBeGreaterThan(0);
      const ready = await fetch(`${cluster.baseUrl}/health/ready`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ status: "degraded", checks: { kafka: "down" } });
      await sleep(Math.max(0, 30_000 - (Date.now() - started)));
    } finally {
      await infraCtl("up", "kafka");
    }
    const ids = new Set(sent.map((e) => e.eventId));
    await waitFor(
      "all 1,000 records after Kafka returned",
      async () => new Set(reader.byEventId(ids).map((r) => r.headers["event-id"])).size === 1000,
      120_000,
      1000,
    );
    const records = reader.byEventId(ids);
    const duplicates = records.length - new Set(records.map((r) => r.headers["event-id"])).size;
    console.log(`Kafka outage: 1000 events, ${records.length} records, ${duplicates} duplicate eventIds`);
    expect(duplicates).toBe(0);
    await waitFor("the backlog to drain", async () => (await status()).backlog === 0, 30_000, 500);
  }, 240_000);

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
});
