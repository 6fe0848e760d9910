/**
 * A channel handler fed the way our JetStream adapter feeds it (lib/channels.ts): the real consumer
 * callback around a fake message that answers like nats.js (the first ack or nak is final), and a
 * redelivery loop that brings a nak'd message back after its delay, like the server.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { JetStreamAdapter } from "../../lib/channels";

export type Answer = { kind: "ack" } | { kind: "nak"; delayMs?: number } | { kind: "dead" };
export type ChannelHandler = (payload: any, raw: any) => Promise<void>;

/** The JetStream message as the handler sees it. */
export class FakeJsMessage {
  answer?: Answer;
  progress = 0;
  readonly seq = 1;
  readonly info: { redeliveryCount: number };

  constructor(
    readonly payload: unknown,
    redeliveryCount = 0,
  ) {
    this.info = { redeliveryCount };
  }

  get data() {
    return Buffer.from(JSON.stringify(this.payload));
  }
  working() {
    this.progress++;
  }
  ack() {
    this.answer ??= { kind: "ack" };
  }
  nak(delayMs?: number) {
    this.answer ??= { kind: "nak", delayMs };
  }
}

/** Settings of the notifications consumers in a cluster (moleculer.config.ts). */
const MAX_RETRIES = 5;

/** One delivery through the adapter's consumer callback; resolves with how the message was answered. */
export async function deliverOnce(handler: ChannelHandler, msg: FakeJsMessage): Promise<Answer | undefined> {
  const adapter: any = new JetStreamAdapter({});
  adapter.serializer = { deserialize: (b: Buffer) => JSON.parse(b.toString()) };
  adapter.broker = { isMetricsEnabled: () => false };
  adapter.logger = { debug: () => undefined, error: () => undefined, warn: () => undefined };
  adapter.moveToDeadLetter = async () => void (msg.answer ??= { kind: "dead" });
  const chan = {
    id: `c-${Math.random()}`,
    name: "c",
    group: "g",
    maxRetries: MAX_RETRIES,
    deadLettering: { enabled: true, queueName: "DEAD_LETTER" },
    handler,
  };
  adapter.initChannelActiveMessages(chan.id);
  await adapter.createConsumerHandler(chan)(null, msg);
  return msg.answer;
}

/**
 * Delivers until the message is acked or dead-lettered, each nak bringing it back after its
 * delay (at most `maxDeliveries`). Resolves with every answer, in order.
 */
export async function deliverUntilSettled(
  handler: ChannelHandler,
  payload: unknown,
  maxDeliveries = 10,
): Promise<Answer[]> {
  const answers: Answer[] = [];
  for (let n = 0; n < maxDeliveries; n++) {
    const answer = await deliverOnce(handler, new FakeJsMessage(payload, n));
    if (!answer) throw new Error("the handler returned without the adapter answering the message");
    answers.push(answer);
    if (answer.kind !== "nak") return answers;
    await sleep(answer.delayMs ?? 0);
  }
  return answers;
}
