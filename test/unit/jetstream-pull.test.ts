/** Batch consumption of a pull consumer, against a fake JetStream that records each fetch. */
import type { JetStreamClient, JetStreamManager, JsMsg } from "nats";
import { consumeInBatches, ticker, type BatchConsumer } from "../../lib/jetstream-pull";

import { sleep } from "../support/fixtures";

function fakeJetStream() {
  const queue: number[] = [];
  const fetches: { batch: number; no_wait?: boolean; expires?: number }[] = [];
  const settled: Record<string, number[]> = { ack: [], nak: [] };
  const consumers: string[] = [];
  const msg = (n: number) =>
    ({
      seq: n,
      data: Buffer.from(String(n)),
      ack: () => settled.ack.push(n),
      nak: () => settled.nak.push(n),
    }) as unknown as JsMsg;
  const js = {
    fetch(_stream: string, _durable: string, opts: { batch: number; no_wait?: boolean; expires?: number }) {
      fetches.push(opts);
      return (async function* () {
        // A long poll waits (briefly, here) for a message; no_wait answers with what is there.
        for (let waited = 0; !opts.no_wait && !queue.length && waited < 50; waited += 5) await sleep(5);
        for (const n of queue.splice(0, opts.batch)) yield msg(n);
      })();
    },
  } as unknown as JetStreamClient;
  const jsm = {
    consumers: {
      info: async (_s: string, d: string) => {
        if (!consumers.includes(d)) throw new Error("consumer not found");
      },
      add: async (_s: string, cfg: { durable_name: string }) => consumers.push(cfg.durable_name),
    },
  } as unknown as JetStreamManager;
  return { js, jsm, queue, fetches, settled, consumers };
}

function consumer(over: Partial<BatchConsumer>): BatchConsumer {
  return {
    stream: "S",
    durable: "d",
    maxInFlight: 100,
    lingerMs: 10,
    prepare: async () => undefined,
    handle: async (m) => m.ack(),
    isStopping: () => false,
    onError: (err) => {
      throw err;
    },
    ...over,
  };
}

describe("consumeInBatches", () => {
  it("creates the durable consumer and drains a backlog in full fetches, acking every message once", async () => {
    const f = fakeJetStream();
    f.queue.push(...Array.from({ length: 250 }, (_, i) => i));
    let stop = false;
    const run = consumeInBatches(f.js, f.jsm, consumer({ isStopping: () => stop }));
    while (f.settled.ack.length < 250) await sleep(5);
    stop = true;
    await run;
    expect(f.consumers).toEqual(["d"]);
    expect(f.settled.ack).toEqual(Array.from({ length: 250 }, (_, i) => i));
    // The backlog came in fetches of up to 100 that did not wait, not one message at a time.
    const draining = f.fetches.filter((x) => x.no_wait).slice(0, 3);
    expect(draining.map((x) => x.batch)).toEqual([100, 100, 100]);
  });

  it("once drained, waits with one long poll and takes what arrived meanwhile in one fetch", async () => {
    const f = fakeJetStream();
    let stop = false;
    const run = consumeInBatches(f.js, f.jsm, consumer({ isStopping: () => stop, lingerMs: 30 }));
    await sleep(20);
    const before = f.fetches.length;
    f.queue.push(1);
    setTimeout(() => f.queue.push(2, 3, 4), 10); // within the linger
    while (f.settled.ack.length < 4) await sleep(5);
    stop = true;
    await run;
    const after = f.fetches.slice(before - 1, before + 1);
    expect(after.map((x) => (x.no_wait ? "now" : `poll ${x.batch}`))).toEqual(["poll 1", "now"]);
    expect(f.settled.ack).toEqual([1, 2, 3, 4]);
  });

  it("on a steady stream, takes one fetch per linger and no long poll, then long-polls once it is idle", async () => {
    const f = fakeJetStream();
    let stop = false;
    const run = consumeInBatches(f.js, f.jsm, consumer({ isStopping: () => stop, lingerMs: 25 }));
    await sleep(20); // drained and idle: in a long poll
    const before = f.fetches.length;
    for (let n = 1; n <= 40; n++) {
      f.queue.push(n);
      await sleep(5);
    }
    while (f.settled.ack.length < 40) await sleep(5);
    const during = f.fetches.slice(before);
    await sleep(100); // the stream stopped: back to waiting
    stop = true;
    await run;
    expect(f.settled.ack).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    // ~200 ms of messages every ~5 ms: a handful of fetches, all but the first poll without waiting.
    expect(during.filter((x) => !x.no_wait).length).toBe(0);
    expect(during.length).toBeLessThanOrEqual(12);
    expect(f.fetches.slice(before + during.length).some((x) => !x.no_wait)).toBe(true);
  });

  it("hands back at once what it took after being told to stop, handling none of it", async () => {
    const f = fakeJetStream();
    f.queue.push(1, 2, 3);
    let handled = 0;
    // Told to stop while its first fetch is under way.
    await consumeInBatches(
      f.js,
      f.jsm,
      consumer({ isStopping: () => f.fetches.length > 0, handle: async () => void handled++ }),
    );
    expect(handled).toBe(0);
    expect(f.settled).toEqual({ ack: [], nak: [1, 2, 3] });
  });

  it("lets consumers that share a ticker fetch in the same wakeup", async () => {
    const streams = [fakeJetStream(), fakeJetStream()];
    const tick = ticker(30);
    let stop = false;
    const stamps: number[][] = [[], []];
    const runs = streams.map((f, i) => {
      const js = {
        fetch: (s: string, d: string, o: any) => (
          o.no_wait && stamps[i].push(Date.now()),
          f.js.fetch(s, d, o)
        ),
      } as unknown as JetStreamClient;
      return consumeInBatches(js, f.jsm, consumer({ isStopping: () => stop, lingerMs: 30, tick }));
    });
    await sleep(10);
    streams[0].queue.push(1); // wakes the first at once, the second 15 ms later
    await sleep(15);
    streams[1].queue.push(2);
    while (streams.some((f) => f.settled.ack.length < 1)) await sleep(5);
    stop = true;
    await Promise.all(runs);
    // The no-wait fetch after each one's first message: the second joined the first one's timer.
    const [a, b] = [stamps[0][1], stamps[1][1]];
    expect(Math.abs(a - b)).toBeLessThan(8);
  });
});
