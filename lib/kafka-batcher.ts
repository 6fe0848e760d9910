/**
 * kafkajs sends one request per `send` call; this groups records into batches of up to
 * `batchSize`, starting at most one batch per `lingerMs`: a record that comes when nothing was
 * sent for `lingerMs` goes at once (with whatever arrived in the same tick), later ones wait for
 * the rest of that period and go together. So a trickle is not
 * delayed, and a steady stream costs one Kafka request per period instead of one per record. Batches go out one at a time so records
 * keep their order, and each caller's promise settles when Kafka acknowledged its record.
 *
 * With `retry`, a failed batch is sent again as the very same request until it is acknowledged
 * (or the host stops). The idempotent producer needs that: kafkajs rolls its sequence numbers
 * back when a request fails, so a request that reached the broker but lost its answer (a broker
 * shutting down) must be followed by the same records under the same numbers, which the broker
 * then answers as a duplicate. Any other batch under those numbers would be answered the same
 * way and silently dropped.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { Message, Producer } from "./kafka";

interface Pending {
  topic: string;
  message: Message;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export interface BatchRetry {
  isStopping(): boolean;
  /** A request failed; `topics` are those its records were for. */
  failed(err: unknown, topics: string[]): void;
}

export class KafkaBatcher {
  private queue: Pending[] = [];
  private cancel?: () => void;
  private chain: Promise<void> = Promise.resolve();
  private lastFlush = -Infinity;

  constructor(
    private readonly producer: Producer,
    private readonly batchSize: number,
    private readonly lingerMs: number,
    private readonly retry?: BatchRetry,
  ) {}

  send(topic: string, message: Message): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ topic, message, resolve, reject });
      if (this.queue.length >= this.batchSize) this.flush();
      else if (!this.cancel) {
        const wait = this.lastFlush + this.lingerMs - Date.now();
        // Due: goes with whatever else arrives in this tick (setTimeout(0) would be a 1 ms timer,
        // one more wakeup per batch).
        if (wait <= 0) {
          const t = setImmediate(() => this.flush());
          this.cancel = () => clearImmediate(t);
        } else {
          const t = setTimeout(() => this.flush(), wait);
          this.cancel = () => clearTimeout(t);
        }
      }
    });
  }

  /** Waits until every record queued so far is settled. */
  async drain(): Promise<void> {
    if (this.queue.length) this.flush();
    await this.chain;
  }

  private flush(): void {
    this.cancel?.();
    this.cancel = undefined;
    this.lastFlush = Date.now();
    while (this.queue.length) {
      const batch = this.queue.splice(0, this.batchSize);
      this.chain = this.chain.then(() => this.sendBatch(batch));
    }
  }

  private async sendBatch(batch: Pending[]): Promise<void> {
    const byTopic = new Map<string, Message[]>();
    for (const p of batch) byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), p.message]);
    const request = {
      acks: -1,
      topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
    };
    for (let delay = 250; ; delay = Math.min(delay * 2, 5000)) {
      try {
        await this.producer.sendBatch(request);
        for (const p of batch) p.resolve();
        return;
      } catch (err) {
        this.retry?.failed(err, [...byTopic.keys()]);
        if (!this.retry || this.retry.isStopping()) {
          for (const p of batch) p.reject(err);
          return;
        }
        await sleep(delay);
      }
    }
  }
}

export interface SendHooks {
  sent(topic: string): void;
}

/**
 * One record of a (topic, key) at a time: a record waits until the one before it of the same
 * key is acknowledged, so a batch that is being retried (KafkaBatcher retries it as it was) holds
 * back the later records of its keys. Other keys are not held up and keep sharing batches. A
 * record that fails (the batcher gives up only when its host stops) fails the later records of
 * its key behind it too, so their messages go back to JetStream.
 */
export class KeyOrderedSender {
  private readonly tails = new Map<string, Promise<void>>();

  constructor(
    private readonly batcher: KafkaBatcher,
    private readonly hooks: SendHooks,
  ) {}

  send(topic: string, message: Message): Promise<void> {
    if (message.key == null) return this.acked(topic, message);
    const key = `${topic}\u0000${String(message.key)}`;
    const before = this.tails.get(key);
    const mine = before ? before.then(() => this.acked(topic, message)) : this.acked(topic, message);
    this.tails.set(key, mine);
    const forget = () => void (this.tails.get(key) === mine && this.tails.delete(key));
    mine.then(forget, forget);
    return mine;
  }

  private async acked(topic: string, message: Message): Promise<void> {
    await this.batcher.send(topic, message);
    this.hooks.sent(topic);
  }
}
