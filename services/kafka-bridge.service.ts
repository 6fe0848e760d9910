/**
 * Publishes every durable domain event to its Kafka topic (key = aggregate id) and feeds
 * configured Kafka topics back into channels. A channel message is acknowledged only after Kafka
 * acknowledged its record; while Kafka is down the handler keeps retrying and the backlog waits
 * in JetStream.
 *
 * In a cluster the bridge takes each stream through a pull consumer in batches
 * (lib/jetstream-pull.ts), so it wakes once per batch rather than once per event; embedded, it
 * subscribes to the in-process channels.
 *
 * Order, exactly (README "Events and Kafka" says the same): each event type is one stream and one
 * topic, so order exists per topic and key. One bridge node produces a key's records of a topic
 * in stream order, also across failures: a record is not sent while an earlier one of its key is
 * in flight or retrying (KeyOrderedSender). Several bridge nodes share each stream's pull
 * consumer, so two of them can hold consecutive records of one key at once and Kafka may get
 * them out of order; every record pulled from a stream carries header `event-seq`, its event's
 * sequence in that stream (higher = published later), for a consumer that needs the order back.
 * Across topics nothing is ordered (one aggregate's event types are separate streams).
 */
import type { Context, ServiceSchema } from "moleculer";
import { Kafka, logLevel, type Producer } from "../lib/kafka";
import { KafkaTopics, type EventEnvelope, type EventName } from "../contracts";
import { config, type Config } from "../lib/config";
import { ensureStream, streamName } from "../lib/channels";
import { consumeInBatches, ticker } from "../lib/jetstream-pull";
import { KafkaBatcher, KeyOrderedSender } from "../lib/kafka-batcher";
import { startInbound } from "../lib/kafka-inbound";
import { setTimeout as sleep } from "node:timers/promises";

const GROUP = "kafka-bridge";
/** The durable pull consumer of each stream (a push consumer cannot become one, hence a name of its own). */
const PULL_GROUP = "kafka-bridge-batches";
const outbound = Object.entries(KafkaTopics).filter((e): e is [EventName, string] => e[1] !== null);

/** Well inside JetStream's 30 s acknowledgement wait. */
const WORKING_EVERY_MS = 10_000;
const RECENT_KEPT = 10_000;

/** The Kafka record of an event: the envelope without its routing key; `seq`, its stream position. */
export function toRecord(evt: EventEnvelope, seq?: number) {
  const { eventId, type, version, occurredAt, data } = evt;
  const headers: Record<string, string> = {
    "event-id": eventId,
    "event-type": type,
    "event-version": String(version),
  };
  if (seq !== undefined) headers["event-seq"] = String(seq);
  return { key: evt.key, value: JSON.stringify({ eventId, type, version, occurredAt, data }), headers };
}

const KafkaBridgeService = {
  name: "kafka-bridge",
  actions: {
    status: {
      handler(this: any) {
        return this.status();
      },
    },
  },
  // Set in created() from the configuration: subscribed only when Kafka is configured (an idle
  // bridge must not take messages it can't send) and no pull consumers take the streams.
  channels: {},
  methods: {
    /** The push subscriptions of the embedded bridge, one per outbound event. */
    pushChannels(this: any) {
      return Object.fromEntries(
        outbound.map(([event, topic]) => [
          event,
          {
            group: GROUP,
            // Many messages in flight at once, so records can share a batch.
            maxInFlight: this.cfg.kafka.batchSize,
            async handler(this: any, ctx: Context<EventEnvelope>, raw: any) {
              await this.forward(topic, ctx.params, raw);
            },
          },
        ]),
      );
    },

    /**
     * Produces one event, retrying until Kafka acknowledges it. A copy of an event already on its
     * way (JetStream redelivers what stays unacknowledged too long) joins it instead of being
     * produced twice, and so does one that this node produced moments ago.
     */
    async forward(this: any, topic: string, evt: EventEnvelope, raw: any, seq?: number) {
      if (this.recent.has(evt.eventId)) return;
      let pending: Promise<void> | undefined = this.inFlight.get(evt.eventId);
      if (!pending) {
        pending = this.produce(topic, evt, seq).finally(() => this.inFlight.delete(evt.eventId));
        this.inFlight.set(evt.eventId, pending);
      }
      // Still working on it (the keep-alive timer): JetStream does not redeliver it while it waits.
      this.waiting.add(raw);
      try {
        await pending;
      } finally {
        this.waiting.delete(raw);
      }
      this.remember(evt.eventId);
    },

    /** One message of a pull consumer: acknowledged once Kafka has its record. */
    async forwardMessage(this: any, topic: string, msg: any) {
      let evt: EventEnvelope;
      try {
        // A Buffer view of the message's bytes, not a copy: the JSON serializer parses its text.
        const data: Uint8Array = msg.data;
        evt = this.broker.channelAdapter.serializer.deserialize(
          Buffer.from(data.buffer, data.byteOffset, data.byteLength),
        );
      } catch (err) {
        this.logger.error(`Kafka bridge: message ${msg.seq} on ${topic} is not an event; dropped.`, err);
        return msg.term();
      }
      try {
        await this.forward(topic, evt, msg, msg.seq);
        msg.ack();
      } catch {
        msg.nak(); // stopping: the next bridge takes it at once
      }
    },

    /** Once the channel adapter is connected: one batch consumer per outbound stream. */
    async startPulling(this: any) {
      const adapter = this.broker.channelAdapter;
      while (!adapter.connected && !this.stopping) await sleep(100);
      if (this.stopping) return;
      const cfg: Config = this.cfg;
      const tick = ticker(cfg.kafka.lingerMs);
      for (const [event, topic] of outbound) {
        void consumeInBatches(adapter.client, adapter.manager, {
          stream: streamName(adapter.addPrefixTopic(event)),
          durable: PULL_GROUP,
          // Room for a few batches, so the next fetch overlaps with the Kafka requests under way.
          maxInFlight: cfg.kafka.batchSize * 4,
          lingerMs: cfg.kafka.lingerMs,
          tick,
          prepare: () => ensureStream(this.broker, event),
          handle: (msg) => this.forwardMessage(topic, msg),
          isStopping: () => this.stopping,
          onError: (err) =>
            this.logger.warn(`Kafka bridge: consuming ${event} failed; retrying.`, String(err)),
        });
      }
    },

    /** Resolves once Kafka acknowledged the event's record (retrying, in its key's order). */
    produce(this: any, topic: string, evt: EventEnvelope, seq?: number): Promise<void> {
      return this.sender.send(topic, toRecord(evt, seq));
    },

    /** The last RECENT_KEPT event ids produced (a Set keeps insertion order: oldest first). */
    remember(this: any, eventId: string) {
      this.recent.add(eventId);
      if (this.recent.size > RECENT_KEPT) this.recent.delete(this.recent.values().next().value);
    },

    async connectLoop(this: any) {
      const cfg: Config = this.cfg;
      for (let delay = 500; !this.stopping; delay = Math.min(delay * 2, 5000)) {
        try {
          const admin = this.kafka.admin();
          await admin.connect();
          const inboundTopics = cfg.kafka.inbound.flatMap((i) => [i.topic, `${i.topic}.dlq`]);
          const wanted = [...new Set([...outbound.map(([, t]) => t), ...inboundTopics])];
          await admin.createTopics({
            waitForLeaders: true,
            topics: wanted.map((topic) => ({
              topic,
              numPartitions: cfg.kafka.topicPartitions,
              replicationFactor: cfg.kafka.replicationFactor,
            })),
          });
          await admin.disconnect();
          await this.producer.connect();
          this.state.connected = true;
          this.logger.info(`Kafka bridge connected to ${cfg.kafkaBrokers!.join(",")}`);
          if (this.pulling)
            void this.startPulling().catch((err: unknown) =>
              this.logger.error("Kafka bridge: consumers failed to start.", err),
            );
          if (cfg.kafka.inbound.length) await this.startInbound();
          return;
        } catch (err: any) {
          this.state.lastError = String(err?.message ?? err);
          this.logger.warn(`Kafka is not reachable yet (${this.state.lastError}); retrying.`);
          await sleep(delay);
        }
      }
    },

    async startInbound(this: any) {
      this.consumer = await startInbound({
        broker: this.broker,
        kafka: this.kafka,
        producer: this.producer,
        // One consumer group per cluster (namespace).
        groupId: [this.broker.namespace, GROUP, "inbound"].filter(Boolean).join("-"),
        routes: this.cfg.kafka.inbound,
        logger: this.logger,
      });
    },

    async backlog(this: any): Promise<number | null> {
      const adapter = this.broker.channelAdapter;
      const jsm = adapter?.manager;
      if (!this.enabled || !jsm) return null;
      let total = 0;
      for (const [event] of outbound) {
        const info = await jsm.consumers
          .info(streamName(adapter.addPrefixTopic(event)), this.pulling ? PULL_GROUP : GROUP)
          .catch(() => null);
        if (info) total += info.num_pending + info.num_ack_pending;
      }
      this.broker.metrics.set("bridge.backlog", total);
      return total;
    },

    async status(this: any) {
      return {
        enabled: this.enabled,
        connected: this.enabled && this.state.connected,
        produced: this.state.produced,
        // Epoch ms of this node's first and latest record: a drain's rate without start-up time.
        firstProducedAt: this.state.firstProducedAt ?? null,
        lastProducedAt: this.state.lastProducedAt ?? null,
        failed: this.state.failed,
        backlog: await this.backlog(),
        lastError: this.state.lastError,
      };
    },
  },
  created(this: any) {
    const cfg = (this.cfg = config());
    this.enabled = Boolean(cfg.kafkaBrokers);
    this.pulling = this.enabled && Boolean(cfg.transporter);
    // Read by the channels middleware right after created().
    this.schema.channels = this.enabled && !this.pulling ? this.pushChannels() : {};
    this.state = { connected: false, produced: 0, failed: 0, lastError: null };
    this.inFlight = new Map<string, Promise<void>>();
    this.recent = new Set<string>();
    this.waiting = new Set<any>();
    this.broker.metrics.register({ type: "counter", name: "bridge.records.produced", labelNames: ["topic"] });
    this.broker.metrics.register({ type: "counter", name: "bridge.records.failed", labelNames: ["topic"] });
    this.broker.metrics.register({ type: "gauge", name: "bridge.backlog" });
    if (!this.enabled) return;
    this.kafka = new Kafka({
      clientId: this.broker.nodeID,
      brokers: cfg.kafkaBrokers!,
      logLevel: logLevel.NOTHING,
      retry: { retries: 3, initialRetryTime: 200, maxRetryTime: 2000 },
    });
    // Idempotence needs one request in flight per connection: records are neither lost nor doubled on retry.
    this.producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1 }) as Producer;
    // Pulling, the consumers already take one batch per linger period on one timer: the batcher
    // sends each at once, rather than on a clock of its own a few ms out of step with theirs.
    const failed = (topics: string[], err: any) => {
      this.state.failed++;
      this.state.connected = false;
      this.state.lastError = String(err?.message ?? err);
      for (const topic of topics) this.broker.metrics.increment("bridge.records.failed", { topic });
    };
    // A failed request is retried as it was (see KafkaBatcher): idempotence depends on it.
    this.batcher = new KafkaBatcher(
      this.producer,
      cfg.kafka.batchSize,
      this.pulling ? 0 : cfg.kafka.lingerMs,
      {
        isStopping: () => this.stopping,
        failed: (err, topics) => failed(topics, err),
      },
    );
    this.sender = new KeyOrderedSender(this.batcher, {
      sent: (topic) => {
        this.state.produced++;
        this.state.firstProducedAt ??= Date.now();
        this.state.lastProducedAt = Date.now();
        this.state.connected = true;
        this.broker.metrics.increment("bridge.records.produced", { topic });
      },
    });
  },
  started(this: any) {
    if (!this.enabled) {
      this.logger.info("Kafka bridge idle: KAFKA_BROKERS is not set.");
      return;
    }
    void this.connectLoop();
    // One timer for every message waiting on Kafka rather than one per message.
    this.keepAliveTimer = setInterval(() => {
      for (const raw of this.waiting) raw?.working?.();
    }, WORKING_EVERY_MS);
    // The backlog gauge is read from JetStream: refreshed here so a scrape sees a recent value.
    if (this.broker.isMetricsEnabled())
      (this.backlogTimer = setInterval(() => void this.backlog().catch(() => null), 5000)).unref?.();
  },
  async stopped(this: any) {
    this.stopping = true;
    clearInterval(this.backlogTimer);
    clearInterval(this.keepAliveTimer);
    if (!this.enabled) return;
    await this.batcher.drain();
    await this.consumer?.disconnect().catch(() => undefined);
    await this.producer.disconnect().catch(() => undefined);
  },
} as ServiceSchema;

export default KafkaBridgeService;
