/**
 * KAFKA_INBOUND: external Kafka topics fed into durable channels. Each record is forwarded to its
 * channel, then its offset is committed (kafkajs commits after eachMessage returns); a record
 * that is not a JSON object goes to `<topic>.dlq` instead of blocking its partition.
 */
import type { Logger, ServiceBroker } from "moleculer";
import { publish } from "./channels";
import type { Consumer, Kafka, Producer } from "./kafka";

export interface InboundRoute {
  topic: string;
  channel: string;
}

/** Starts the consumer of the routes' topics; the caller disconnects it when stopping. */
export async function startInbound(opts: {
  broker: ServiceBroker;
  kafka: Kafka;
  producer: Producer;
  groupId: string;
  routes: InboundRoute[];
  logger: Logger;
}): Promise<Consumer> {
  const { broker, producer, routes, logger } = opts;
  // A short session lets a killed node's partitions move on quickly.
  const consumer = opts.kafka.consumer({
    groupId: opts.groupId,
    sessionTimeout: 10_000,
    heartbeatInterval: 2_000,
  });
  await consumer.connect();
  for (const { topic } of routes) await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ topic, message }) => {
      const route = routes.find((i) => i.topic === topic)!;
      let payload: unknown;
      try {
        payload = JSON.parse(message.value?.toString() ?? "");
      } catch {
        payload = undefined;
      }
      if (payload === null || typeof payload !== "object" || Array.isArray(payload)) {
        await producer.send({
          topic: `${topic}.dlq`,
          acks: -1,
          messages: [
            {
              key: message.key,
              value: message.value,
              headers: { ...message.headers, error: "not a JSON object" },
            },
          ],
        });
        logger.warn(
          `Inbound record on ${topic} at offset ${message.offset} is not a JSON object; sent to ${topic}.dlq`,
        );
        return;
      }
      await publish(broker, route.channel, payload);
      logger.debug(`Inbound record ${topic}@${message.offset} forwarded to ${route.channel}`);
    },
  });
  logger.info(`Kafka bridge consuming ${routes.map((i) => `${i.topic} -> ${i.channel}`).join(", ")}`);
  return consumer;
}
