/** Helpers around @moleculer/channels shared by the outbox relay and the Kafka bridge. */
import type { ServiceBroker } from "moleculer";
import { setTimeout as sleep } from "node:timers/promises";

const ensured = new WeakMap<object, Set<string>>();

/** The JetStream stream of a (prefixed) channel subject, named as the channels adapter names it. */
export const streamName = (subject: string) => subject.split(".").join("_");

/**
 * JetStream keeps a message only if a stream holds its subject; the channels adapter creates
 * streams when a consumer subscribes. Publishers call this first so nothing is dropped before
 * any consumer group exists.
 */
export async function ensureStream(broker: ServiceBroker, channel: string): Promise<void> {
  const adapter = (broker as any).channelAdapter;
  if (!adapter?.createStream) return;
  let done = ensured.get(adapter);
  if (!done) ensured.set(adapter, (done = new Set()));
  if (done.has(channel)) return;
  const subject = adapter.addPrefixTopic(channel);
  await adapter.createStream(streamName(subject), [subject], {});
  done.add(channel);
}

export async function publish(
  broker: ServiceBroker,
  channel: string,
  payload: unknown,
  headers?: Record<string, string>,
  msgID?: string,
) {
  await ensureStream(broker, channel);
  await (broker as any).sendToChannel(channel, payload, {
    ...(headers ? { headers } : {}),
    ...(msgID ? { msgID } : {}),
  });
}

// The adapter classes are not in the package's typings.
const NatsAdapter: new (opts: object) => any = require("@moleculer/channels/src/adapters").NATS;

/**
 * The JetStream adapter, minus one socket write per message: @moleculer/channels calls
 * `working()` as each message arrives, resetting an ack timer the delivery has just started. On
 * a steady trickle of events that is a write (and a server round) per message for nothing;
 * handlers that run long call `working()` themselves (notifications).
 */
export class JetStreamAdapter extends NatsAdapter {
  /**
   * Two nodes of one group starting together both find no durable and both create it; the
   * second create is refused ("consumer name already in use", each node names its own deliver
   * subject) and the node would fail to start. Asked again, the client finds the durable and
   * joins its queue group.
   */
  async subscribe(chan: any): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await super.subscribe(chan);
      } catch (err) {
        if (!isConsumerNameTaken(err) || attempt >= 5) throw err;
        this.stopChannelActiveMessages(chan.id); // the failed attempt began tracking the channel
        await sleep(20 * attempt);
      }
    }
  }

  createConsumerHandler(chan: unknown) {
    const handle = super.createConsumerHandler(chan);
    return (err: unknown, message: any) => {
      if (message) {
        let arrived = true;
        const working = message.working.bind(message);
        message.working = () => (arrived ? (arrived = false) : working());
      }
      return handle(err, message);
    };
  }
}

/** JetStream's "consumer name already in use" (a durable created by another node just now). */
export const isConsumerNameTaken = (err: any) => err?.api_error?.err_code === 10013;
