/**
 * Up to where every event is recorded, so one aggregate's webhooks go in the order its events
 * happened although each event type is a stream of its own (an aggregate's `order.paid` may be
 * taken from its stream before its `order.placed` is taken from another).
 *
 * An event's place `at` is the time its stream stored it (µs). A producer publishes one
 * aggregate's events one after the other, each acknowledged by JetStream before the next
 * (mixins/outbox.mixin.ts), so their `at` follow their order. The watermark is the `at` of the
 * oldest message this consumer group has not acknowledged, over every stream (the service
 * acknowledges only once the event's deliveries are recorded), or the consumer's clock for a
 * stream it has caught up with: every delivery before it is in the store, so the oldest pending
 * one of an aggregate is truly its next. In-process (embedded), `at` is the arrival order and the
 * watermark the oldest event still being recorded.
 */

export const nowMicros = () => Date.now() * 1000;

/** "2026-01-01T00:00:00.123456789Z" -> µs since the epoch, keeping the sub-millisecond digits. */
export function isoToMicros(iso: string): number {
  const ms = Date.parse(iso);
  const frac = /\.(\d+)/.exec(iso)?.[1] ?? "";
  return ms * 1000 + Number((frac + "000000").slice(3, 6));
}

interface ConsumerInfoLike {
  num_pending: number;
  num_ack_pending: number;
  ack_floor: { stream_seq: number };
  ts?: string;
}
interface ManagerLike {
  consumers: { info(stream: string, durable: string): Promise<ConsumerInfoLike> };
  streams: { getMessage(stream: string, q: { seq: number }): Promise<{ timestamp?: string; time: Date }> };
}

/** The JetStream watermark over `streams` of the durable `group`; recomputed at most every `minAgeMs`. */
export class StreamWatermark {
  private value = 0;
  private computedAt = 0;
  private running?: Promise<number>;

  constructor(
    private readonly jsm: () => ManagerLike | undefined,
    private readonly streams: () => string[],
    private readonly group: string,
    private readonly minAgeMs = 100,
  ) {}

  /**
   * The watermark as of a moment before this call: at most `minAgeMs` old (a value computed
   * earlier is still true, only lower than it could be), or one computed now.
   */
  async get(): Promise<number> {
    if (Date.now() - this.computedAt < this.minAgeMs) return this.value;
    return (this.running ??= this.compute().finally(() => (this.running = undefined)));
  }

  private async compute(): Promise<number> {
    const jsm = this.jsm();
    if (!jsm) return this.value;
    const before = nowMicros();
    const marks = await Promise.all(
      this.streams().map(async (stream) => {
        const info = await jsm.consumers.info(stream, this.group).catch(() => null);
        // No consumer yet: nothing of that stream is recorded, nor taken.
        if (!info) return 0;
        if (info.num_pending + info.num_ack_pending === 0) return info.ts ? isoToMicros(info.ts) : before;
        const oldest = await jsm.streams
          .getMessage(stream, { seq: info.ack_floor.stream_seq + 1 })
          .catch(() => null);
        // Gone from the stream (deleted meanwhile): the next round sees a later floor.
        if (!oldest) return this.value;
        return oldest.timestamp ? isoToMicros(oldest.timestamp) : oldest.time.getTime() * 1000;
      }),
    );
    const mark = Math.min(...marks);
    // Never backwards: a delivery once due stays due.
    this.value = Math.max(this.value, mark);
    this.computedAt = Date.now();
    return this.value;
  }
}

/** In-process: arrival order, and the oldest arrival still being recorded. */
export class LocalWatermark {
  private last = 0;
  private readonly recording = new Set<number>();

  /** A strictly increasing place for an event that just arrived; `done` once it is recorded. */
  arrive(): number {
    const at = Math.max(nowMicros(), this.last + 1);
    this.last = at;
    this.recording.add(at);
    return at;
  }

  done(at: number): void {
    this.recording.delete(at);
  }

  async get(): Promise<number> {
    // Places run ahead of the clock when events arrive within one microsecond: never go back.
    return this.recording.size ? Math.min(...this.recording) : Math.max(nowMicros(), this.last);
  }
}
