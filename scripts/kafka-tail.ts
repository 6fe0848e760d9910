/**
 * npm run kafka:tail -- <topic> [--from-beginning]
 * Prints each record of a topic (partition, offset, key, headers, value) as it arrives.
 */
import { randomUUID } from "node:crypto";
import { Kafka, logLevel } from "../lib/kafka";
import { config } from "../lib/config";

async function main() {
  const args = process.argv.slice(2);
  const topic = args.find((a) => !a.startsWith("--"));
  if (!topic) {
    console.error("usage: npm run kafka:tail -- <topic> [--from-beginning]");
    process.exit(2);
  }
  const brokers = config().kafkaBrokers;
  if (!brokers) {
    console.error("KAFKA_BROKERS is not set (nor in .infra.env)");
    process.exit(2);
  }
  const kafka = new Kafka({ clientId: "kafka-tail", brokers, logLevel: logLevel.ERROR });
  const consumer = kafka.consumer({ groupId: `kafka-tail-${randomUUID()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: args.includes("--from-beginning") });
  const stop = () => void consumer.disconnect().then(() => process.exit(0));
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      const headers = Object.fromEntries(
        Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]),
      );
      console.log(
        JSON.stringify({
          partition,
          offset: message.offset,
          key: message.key?.toString() ?? null,
          headers,
          value: message.value?.toString(),
        }),
      );
    },
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
