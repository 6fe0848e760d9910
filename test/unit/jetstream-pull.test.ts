/** Batch consumption of a pull consumer, against a fake JetStream that records each fetch. */
import type { JetStreamClient, JetStreamManager, JsMsg } from "nats";
import { consumeInBatches, ticker, type BatchConsumer } from "../../lib/jetstream-pull";

import { sleep } from "../support/fixtures";

function fakeJetStream() {
  const queue: number[] = [];
  const fetches: { batch: number; no_wait?: boolean; expires?: number; took: number[] }[] = [];
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
      const fetch = { ...opts, took: [] as number[] };
      fetches.push(fetch);
      return (async function* () {
        // A long poll waits (briefly, here) for a message; no_wait answers with what is there.
        for (let waited = 0; !opts.no_wait && !queue.length && waited < 50; waited += 5) await sleep(5);
        for (const n of queue.splice(0, opts.batch)) {
          fetch.took.push(n);
          yield msg(n);
        }
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

/** A linger the test ends by hand: `release()` wakes every consumer waiting on it. */
function manualTick() {
  let waiters: (() => void)[] = [];
  return {
    tick: () => new Promise<void>((r) => waiters.push(r)),
    get waiting() {
      return waiters.length;
    },
    release() {
      const woken = waiters;
      waiters = [];
      for (const wake of woken) wake();
      return woken.length;
    },
  };
}

/** Polls until `cond` holds (the consumer runs on its own; this only waits for it). */
async function until(cond: () => boolean) {
  for (let i = 0; !cond(); i++) {
    if (i > 2000) throw new Error("condition not reached");
    await sleep(2);
  }
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

  it("once drained, waits with one long poll and after the linger takes what arrived meanwhile in one fetch", async () => {
    const f = fakeJetStream();
    const linger = manualTick();
    let stop = false;
    const run = consumeInBatches(f.js, f.jsm, consumer({ isStopping: () => stop, tick: linger.tick }));
    await until(() => f.fetches.some((x) => !x.no_wait));
    f.queue.push(1);
    await until(() => linger.waiting === 1); // got 1 from the long poll, lingering
    f.queue.push(2, 3, 4);
    const before = f.fetches.length;
    linger.release();
    await until(() => f.settled.ack.length === 4);
    stop = true;
    linger.release();
    await run;
    const poll = f.fetches[before - 1];
    expect([poll.no_wait, poll.batch, poll.took]).toEqual([undefined, 1, [1]]);
    expect(f.fetches[before]).toMatchObject({ no_wait: true, took: [2, 3, 4] });
    expect(f.settled.ack).toEqual([1, 2, 3, 4]);
  });

  it("on a steady stream, fetches once per linger without a long poll, and long-polls again after an empty linger", async () => {
    const f = fakeJetStream();
    const linger = manualTick();
    let stop = false;
    const run = consumeInBatches(f.js, f.jsm, consumer({ isStopping: () => stop, tick: linger.tick }));
    await until(() => f.fetches.some((x) => !x.no_wait));
    f.queue.push(0);
    await until(() => linger.waiting === 1);
    const perLinger: (typeof f.fetches)[] = [];
    for (let n = 1; n <= 5; n++) {
      f.queue.push(n * 10, n * 10 + 1);
      const before = f.fetches.length;
      linger.release();
      await until(() => f.settled.ack.length === 1 + 2 * n && linger.waiting === 1);
      perLinger.push(f.fetches.slice(before));
    }
    // The stream stops: the next linger finds nothing, and the consumer goes back to one long poll.
    const before = f.fetches.length;
    linger.release();
    await until(() => f.fetches.length >= before + 2);
    stop = true;
    linger.release();
    await run;
    expect(perLinger.map((fetches) => fetches.map((x) => (x.no_wait ? x.took : "poll")))).toEqual(
      [1, 2, 3, 4, 5].map((n) => [[n * 10, n * 10 + 1]]),
    );
    expect(f.fetches.slice(before, before + 2).map((x) => (x.no_wait ? "now" : `poll ${x.batch}`))).toEqual([
      "now",
      "poll 1",
    ]);
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

  it("lets consumers that share a ticker fetch after the same wakeup", async () => {
    const streams = [fakeJetStream(), fakeJetStream()];
    const linger = manualTick();
    let stop = false;
    const runs = streams.map((f) =>
      consumeInBatches(f.js, f.jsm, consumer({ isStopping: () => stop, tick: linger.tick })),
    );
    await until(() => streams.every((f) => f.fetches.some((x) => !x.no_wait)));
    streams[0].queue.push(1);
    streams[1].queue.push(2);
    await until(() => linger.waiting === 2);
    const before = streams.map((f) => f.fetches.length);
    expect(linger.release()).toBe(2); // one wakeup for both
    await until(() => streams.every((f) => f.settled.ack.length === 1));
    stop = true;
    linger.release();
    await Promise.all(runs);
    expect(streams.map((f, i) => f.fetches[before[i]].no_wait)).toEqual([true, true]);
  });
});

describe("ticker", () => {
  it("gives every caller within one period the same wait, and a new one after it ends", async () => {
    const tick = ticker(5);
    const first = tick();
    expect(tick()).toBe(first);
    await first;
    expect(tick()).not.toBe(first);
  });
});
