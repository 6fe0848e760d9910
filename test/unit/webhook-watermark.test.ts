import { LocalWatermark, StreamWatermark, isoToMicros } from "../../lib/webhook-watermark";

describe("the webhooks' watermark", () => {
  it("should read JetStream's nanosecond timestamps to the microsecond", () => {
    expect(isoToMicros("2026-01-01T00:00:00.123456789Z")).toBe(
      Date.parse("2026-01-01T00:00:00.123Z") * 1000 + 456,
    );
    expect(isoToMicros("2026-01-01T00:00:00Z")).toBe(Date.parse("2026-01-01T00:00:00Z") * 1000);
  });

  it("should stop at the oldest message not yet acknowledged, over every stream", async () => {
    const infos: Record<string, any> = {
      placed: { num_pending: 0, num_ack_pending: 2, ack_floor: { stream_seq: 41 } },
      paid: {
        num_pending: 0,
        num_ack_pending: 0,
        ack_floor: { stream_seq: 9 },
        ts: "2026-01-01T00:00:09.000000000Z",
      },
    };
    const stored: Record<string, string> = { "placed:42": "2026-01-01T00:00:05.000001000Z" };
    const jsm = {
      consumers: { info: async (stream: string) => infos[stream] },
      streams: {
        getMessage: async (stream: string, q: { seq: number }) => ({
          timestamp: stored[`${stream}:${q.seq}`],
          time: new Date(0),
        }),
      },
    };
    const mark = new StreamWatermark(
      () => jsm,
      () => ["placed", "paid"],
      "webhooks",
      0,
    );
    expect(await mark.get()).toBe(isoToMicros("2026-01-01T00:00:05.000001000Z"));
    // Caught up on both: the consumers' clock; never backwards.
    infos.placed = {
      num_pending: 0,
      num_ack_pending: 0,
      ack_floor: { stream_seq: 43 },
      ts: "2026-01-01T00:00:10Z",
    };
    expect(await mark.get()).toBe(isoToMicros("2026-01-01T00:00:09Z"));
  });

  it("should hold everything back while a stream has no consumer of the group yet", async () => {
    const jsm = {
      consumers: { info: async () => Promise.reject(new Error("consumer not found")) },
      streams: { getMessage: async () => ({ time: new Date() }) },
    };
    expect(
      await new StreamWatermark(
        () => jsm,
        () => ["placed"],
        "webhooks",
        0,
      ).get(),
    ).toBe(0);
  });

  it("in-process: should stop at the oldest event still being recorded", async () => {
    const local = new LocalWatermark();
    const a = local.arrive();
    const b = local.arrive();
    expect(b).toBeGreaterThan(a);
    expect(await local.get()).toBe(a);
    local.done(a);
    expect(await local.get()).toBe(b);
    local.done(b);
    expect(await local.get()).toBeGreaterThanOrEqual(b);
  });
});
