/** Reads what landed on Kafka topics, for e2e assertions. */
import { Kafka, logLevel, type Consumer, type KafkaMessage } from "../../lib/kafka";
import { randomUUID } from "node:crypto";

export interface SeenRecord {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  headers: Record<string, string>;
  value: any;
  timestamp: string;
}

export class TopicReader {
  readonly records: SeenRecord[] = [];
  private consumer?: Consumer;
  readonly kafka: Kafka;

  constructor(brokers: string) {
    this.kafka = new Kafka({
      clientId: "e2e-reader",
      brokers: brokers.split(","),
      logLevel: logLevel.NOTHING,
    });
  }

  /** Reads the topics from the beginning; tests pick their own records by eventId. */
  async start(topics: string[]): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: topics.map((topic) => ({ topic, numPartitions: 3 })),
      waitForLeaders: true,
    });
    await admin.disconnect();
    this.consumer = this.kafka.consumer({ groupId: `e2e-${randomUUID()}` });
    await this.consumer.connect();
    for (const topic of topics) await this.consumer.subscribe({ topic, fromBeginning: true });
    let joined!: () => void;
    const ready = new Promise<void>((r) => (joined = r));
    this.consumer.on(this.consumer.events.GROUP_JOIN, () => joined());
    await this.consumer.run({
      eachMessage: async ({ topic, partition, message }) =>
        void this.records.push(decode(topic, partition, message)),
    });
    await ready;
  }

  byEventId(eventIds: Set<string>): SeenRecord[] {
    return this.records.filter((r) => eventIds.has(r.headers["event-id"]));
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
  }
}

function decode(topic: string, partition: number, m: KafkaMessage): SeenRecord {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(m.headers ?? {})) headers[k] = String(v);
  let value: any = m.value?.toString();
  try {
    value = JSON.parse(value);
  } catch {
    /* raw */
  }
  return {
    topic,
    partition,
    offset: m.offset,
    key: m.key?.toString() ?? null,
    headers,
    value,
    timestamp: m.timestamp,
  };
}
