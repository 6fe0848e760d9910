/** How the bridge groups records into Kafka requests (a fake producer records each request). */
import { randomUUID } from "node:crypto";
import { ServiceBroker } from "moleculer";
import { Middleware as Channels } from "@moleculer/channels";
import type { Producer } from "../../lib/kafka";
import { KafkaBatcher, KeyOrderedSender } from "../../lib/kafka-batcher";
import { publish } from "../../lib/channels";
import { reloadConfig } from "../../lib/config";
import { sleep } from "../support/fixtures";

function fakeProducer() {
  const requests: string[][] = [];
  let fail = false;
  const producer = {
    async sendBatch({ topicMessages }: any) {
      if (fail) throw new Error("kafka down");
      requests.push(topicMessages.flatMap((t: any) => t.messages.map((m: any) => `${t.topic}:${m.value}`)));
    },
  } as unknown as Producer;
  return { producer, requests, setFail: (f: boolean) => (fail = f) };
}

const record = (v: string) => ({ value: v });

describe("KafkaBatcher", () => {
  beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => jest.useRealTimers());

  it("sends the first record at once, with what arrived in the same tick", async () => {
    const { producer, requests } = fakeProducer();
    const b = new KafkaBatcher(producer, 100, 50);
    const sent = Promise.all([b.send("t", record("a")), b.send("t", record("b"))]);
    await jest.advanceTimersByTimeAsync(1);
    await sent;
    expect(requests).toEqual([["t:a", "t:b"]]);
  });

  it("starts at most one request per linger period; a steady stream goes in batches, in order", async () => {
    const { producer, requests } = fakeProducer();
    const b = new KafkaBatcher(producer, 100, 50);
    const sent: Promise<void>[] = [];
    for (let i = 0; i < 10; i++) {
      sent.push(b.send(i % 2 ? "u" : "t", record(String(i))));
      await jest.advanceTimersByTimeAsync(10);
    }
    await jest.advanceTimersByTimeAsync(50);
    await Promise.all(sent);
    // 0 at once (t=0); 1-4 wait for the end of the period that began with it (t=50), 5-9 for the
    // next one; within a request, records are grouped by topic, each topic's in order.
    expect(requests.map((r) => r.length)).toEqual([1, 4, 5]);
    expect(requests.flat().map((r) => r.split(":")[1])).toEqual([
      "0",
      "1",
      "3",
      "2",
      "4",
      "5",
      "7",
      "9",
      "6",
      "8",
    ]);
  });

  it("sends a full batch without waiting", async () => {
    const { producer, requests } = fakeProducer();
    const b = new KafkaBatcher(producer, 3, 60_000);
    const warm = b.send("t", record("warm"));
    await jest.advanceTimersByTimeAsync(1);
    await warm;
    const sent = ["a", "b", "c"].map((v) => b.send("t", record(v)));
    await jest.advanceTimersByTimeAsync(0);
    await Promise.all(sent);
    expect(requests).toEqual([["t:warm"], ["t:a", "t:b", "t:c"]]);
  });

  it("rejects every record of a failed request, and drain() waits for what is queued", async () => {
    const { producer, requests, setFail } = fakeProducer();
    const b = new KafkaBatcher(producer, 100, 50);
    setFail(true);
    const failed = b.send("t", record("x"));
    const caught = failed.catch((e: Error) => e.message);
    await jest.advanceTimersByTimeAsync(1);
    expect(await caught).toBe("kafka down");
    setFail(false);
    const later = b.send("t", record("y"));
    await b.drain();
    await later;
    expect(requests).toEqual([["t:y"]]);
  });
});

describe("the Kafka bridge's records of one key", () => {
  const broker = new ServiceBroker({ logger: false });
  let bridge: any;
  /** What Kafka acknowledged, as `key:name` in request order; the first request fails. */
  const acked: string[] = [];
  let attempts = 0;

  const produce = (key: string, name: string) =>
    bridge.produce("product_updated", {
      eventId: randomUUID(),
      type: "product.updated",
      version: 1,
      occurredAt: new Date().toISOString(),
      key,
      data: { name },
    });

  beforeAll(async () => {
    // Kafka configured (never reached: the producer is replaced below), embedded mode.
    reloadConfig({ ...process.env, KAFKA_BROKERS: "127.0.0.1:1", TRANSPORTER: "" });
    const { default: Bridge } = await import("../../services/kafka-bridge.service");
    bridge = broker.createService(Bridge);
    bridge.batcher.producer = {
      async sendBatch({ topicMessages }: any) {
        if (attempts++ === 0) throw new Error("kafka down");
        for (const t of topicMessages)
          for (const m of t.messages) acked.push(`${m.key}:${JSON.parse(m.value).data.name}`);
      },
    };
  });
  afterAll(() => reloadConfig());

  it("should not let a later record of a key go ahead of an earlier one that is retrying", async () => {
    const first = produce("k", "first");
    while (attempts === 0) await sleep(5); // its request failed: it waits to retry
    const later = [produce("k", "second"), produce("other", "unrelated")];
    await Promise.all([first, ...later]);
    expect(acked.filter((r) => r.startsWith("k:"))).toEqual(["k:first", "k:second"]);
    expect(acked.filter((r) => r === "other:unrelated")).toHaveLength(1);
  });
});

/**
 * A producer that numbers records the way kafkajs's idempotent producer does (per topic, rolled
 * back when a request fails) in front of a broker that keeps them as Kafka does: the request
 * matching the last one it wrote (same first number, same count) is answered as a duplicate and
 * not written again; any other number out of turn is refused.
 */
function idempotentKafka() {
  const log: string[] = [];
  const client = new Map<string, number>();
  const broker = new Map<string, { next: number; last?: [number, number] }>();
  let loseNextAnswer = false;
  const producer = {
    async sendBatch({ topicMessages }: any) {
      const numbered = topicMessages.map((t: any) => {
        const first = client.get(t.topic) ?? 0;
        client.set(t.topic, first + t.messages.length);
        return { ...t, first };
      });
      const rollBack = () => numbered.forEach((t: any) => client.set(t.topic, t.first));
      for (const t of numbered) {
        const state = broker.get(t.topic) ?? { next: 0 };
        broker.set(t.topic, state);
        const duplicate = state.last?.[0] === t.first && state.last?.[1] === t.messages.length;
        if (duplicate) continue;
        if (t.first !== state.next) {
          rollBack();
          throw new Error("OUT_OF_ORDER_SEQUENCE_NUMBER");
        }
        for (const m of t.messages) log.push(String(m.value));
        state.last = [t.first, t.messages.length];
        state.next = t.first + t.messages.length;
      }
      if (loseNextAnswer) {
        loseNextAnswer = false;
        rollBack();
        throw new Error("Connection closed: the broker is shutting down");
      }
    },
  } as unknown as Producer;
  return { producer, log, loseNextAnswer: () => (loseNextAnswer = true) };
}

describe("the batcher in front of an idempotent producer", () => {
  it("should resend a request whose answer was lost as it was, so no later record is taken for a duplicate", async () => {
    const kafka = idempotentKafka();
    const retry = { isStopping: () => false, failed: () => undefined };
    const batcher = new KafkaBatcher(kafka.producer, 100, 0, retry);
    kafka.loseNextAnswer();
    const a = batcher.send("order_paid", record("A"));
    await sleep(20); // A's request reached the broker; its answer did not come back
    const c = batcher.send("order_paid", record("C"));
    await Promise.all([a, c]);
    expect(kafka.log).toEqual(["A", "C"]);
  });

  it("should lose nothing through the per-key sender over the retrying batcher", async () => {
    const kafka = idempotentKafka();
    const retry = { isStopping: () => false, failed: () => undefined };
    const hooks = { sent: () => undefined };
    const sender = new KeyOrderedSender(new KafkaBatcher(kafka.producer, 100, 0, retry), hooks);
    kafka.loseNextAnswer();
    const a = sender.send("order_paid", { key: "order-a", value: "A" });
    await sleep(20);
    const c = sender.send("order_paid", { key: "order-c", value: "C" });
    await Promise.all([a, c]);
    expect(kafka.log).toEqual(["A", "C"]);
  });
});

describe("the embedded Kafka bridge", () => {
  const broker = new ServiceBroker({
    logger: false,
    // As moleculer.config.ts has it: handlers get a Context.
    middlewares: [Channels({ adapter: { type: "Fake", options: {} }, context: true } as any)],
  });
  const topics: string[] = [];

  beforeAll(async () => {
    // Kafka configured when the service is created (not when its module was imported), no NATS.
    reloadConfig({ ...process.env, KAFKA_BROKERS: "127.0.0.1:1", TRANSPORTER: "" });
    const { default: Bridge } = await import("../../services/kafka-bridge.service");
    const bridge: any = broker.createService(Bridge);
    bridge.connectLoop = async () => undefined; // no Kafka to connect to
    bridge.batcher.producer = {
      async sendBatch({ topicMessages }: any) {
        for (const t of topicMessages) topics.push(t.topic);
      },
    };
    await broker.start();
  });
  afterAll(async () => {
    await broker.stop();
    reloadConfig();
  });

  it("should forward an event from its in-process channel to the event's topic", async () => {
    await publish(broker, "order.placed", {
      eventId: randomUUID(),
      type: "order.placed",
      version: 1,
      occurredAt: new Date().toISOString(),
      key: "o1",
      data: {},
    });
    for (let i = 0; i < 200 && !topics.length; i++) await sleep(5);
    expect(topics).toEqual(["order_placed"]);
  });
});
