/**
 * Consuming a JetStream stream in batches through a durable pull consumer. A push consumer (what
 * @moleculer/channels uses) wakes its process once per message, and on a steady stream that is
 * most of what a cheap handler costs; here a steady stream comes in one response per `lingerMs`,
 * an idle stream is waited on with one long poll, and a backlog drains in full batches back to
 * back. The process wakes once per batch.
 */
import {
  AckPolicy,
  DeliverPolicy,
  nanos,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from "nats";
import { setTimeout as sleep } from "node:timers/promises";

/** How long one idle long poll waits: an idle consumer costs the server a request this often. */
const POLL_MS = 5_000;
const ACK_WAIT_MS = 30_000;

export interface BatchConsumer {
  stream: string;
  durable: string;
  /** Messages handed out and not yet settled, at most (also the consumer's max_ack_pending). */
  maxInFlight: number;
  lingerMs: number;
  /** Waits out the linger; consumers given one `ticker()` fetch in the same wakeup. */
  tick?: () => Promise<void>;
  /** Makes sure the stream exists (run before the consumer is created, again after an error). */
  prepare(): Promise<void>;
  /** Settles the message (ack, nak, or leaves it to be redelivered after the ack wait). */
  handle(msg: JsMsg): Promise<void>;
  isStopping(): boolean;
  onError(err: unknown): void;
}

/** The durable pull consumer, created with the stream's whole history the first time. */
export async function ensurePullConsumer(jsm: JetStreamManager, c: BatchConsumer): Promise<void> {
  const existing = await jsm.consumers.info(c.stream, c.durable).catch(() => null);
  if (existing) return;
  await jsm.consumers.add(c.stream, {
    durable_name: c.durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(ACK_WAIT_MS),
    max_ack_pending: c.maxInFlight,
  });
}

/**
 * One timer for several consumers: whoever waits first starts it, the others join it, so their
 * fetches of a period leave in one write, come back in one read and go to Kafka in one request.
 */
export function ticker(ms: number): () => Promise<void> {
  let next: Promise<void> | undefined;
  return () => (next ??= sleep(ms).then(() => void (next = undefined)));
}

async function take(
  js: JetStreamClient,
  c: BatchConsumer,
  opts: { batch: number; no_wait?: boolean; expires?: number },
) {
  const out: JsMsg[] = [];
  for await (const m of js.fetch(c.stream, c.durable, opts)) out.push(m);
  return out;
}

/**
 * Runs until `isStopping()`; messages that arrive after that are handed back at once.
 *
 * Three modes, from what the last fetch brought: a full fetch (a backlog) fetches again at once;
 * some messages (a steady stream) wait `lingerMs` and take what came meanwhile, one request per
 * period; none (idle) waits in a long poll for the next message, then lingers.
 */
export async function consumeInBatches(
  js: JetStreamClient,
  jsm: JetStreamManager,
  c: BatchConsumer,
): Promise<void> {
  let ready = false;
  let inFlight = 0;
  let slotFreed: () => void = () => undefined;
  let mode: "backlog" | "flowing" | "idle" = "backlog";
  while (!c.isStopping()) {
    try {
      if (!ready) {
        await c.prepare();
        await ensurePullConsumer(jsm, c);
        ready = true;
      }
      // Fetches wait for half the slots to be free: few big fetches rather than many small ones.
      if (inFlight > c.maxInFlight / 2) {
        await new Promise<void>((r) => (slotFreed = r));
        continue;
      }
      const batch: JsMsg[] = [];
      if (mode === "idle") {
        batch.push(...(await take(js, c, { batch: 1, expires: POLL_MS })));
        if (!batch.length) continue;
      }
      if (mode !== "backlog") await (c.tick ? c.tick() : sleep(c.lingerMs));
      const room = c.maxInFlight - inFlight - batch.length;
      const rest = room > 0 ? await take(js, c, { batch: room, no_wait: true }) : [];
      batch.push(...rest);
      mode = room > 0 && rest.length === room ? "backlog" : batch.length ? "flowing" : "idle";
      for (const msg of batch) {
        if (c.isStopping()) {
          msg.nak();
          continue;
        }
        inFlight++;
        void c
          .handle(msg)
          .catch(c.onError)
          .finally(() => {
            if (--inFlight <= c.maxInFlight / 2) slotFreed();
          });
      }
    } catch (err) {
      if (c.isStopping()) return;
      c.onError(err);
      await sleep(1000);
      ready = false; // the stream or the consumer may be what went missing
    }
  }
}
