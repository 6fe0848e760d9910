/** How the bridge groups records into Kafka requests (a fake producer records each request). */
import type { Producer } from "../../lib/kafka";
import { KafkaBatcher } from "../../lib/kafka-batcher";

function fakeProducer() {
  const requests: string[][] = [];
  let fail = false;
  const producer = {
    async sendBatch({ topicMessages }: any) {
      if (fail) throw new Error("kafka down");
      requests.push(topicMessages.flatMap((t: any) => t.messages.map((m: any) => `${t.topic}:${m.value}`)));
    },
  } as unknown as Producer;
  return { producer, requests, setFail: (f: boolean) => (fail = f) };
}

const record = (v: string) => ({ value: v });

describe("KafkaBatcher", () => {
  beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => jest.useRealTimers());

  it("sends the first record at once, with what arrived in the same tick", async () => {
    const { producer, requests } = fakeProducer();
    const b = new KafkaBatcher(producer, 100, 50);
    const sent = Promise.all([b.send("t", record("a")), b.send("t", record("b"))]);
    await jest.advanceTimersByTimeAsync(1);
    await sent;
    expect(requests).toEqual([["t:a", "t:b"]]);
  });

  it("starts at most one request per linger period; a steady stream goes in batches, in order", async () => {
    const { producer, requests } = fakeProducer();
    const b = new KafkaBatcher(producer, 100, 50);
    const sent: Promise<void>[] = [];
    for (let i = 0; i < 10; i++) {
      sent.push(b.send(i % 2 ? "u" : "t", record(String(i))));
      await jest.advanceTimersByTimeAsync(10);
    }
    await jest.advanceTimersByTimeAsync(50);
    await Promise.all(sent);
    // 0 at once (t=0); 1-4 wait for the end of the period that began with it (t=50), 5-9 for the
    // next one; within a request, records are grouped by topic, each topic's in order.
    expect(requests.map((r) => r.length)).toEqual([1, 4, 5]);
    expect(requests.flat().map((r) => r.split(":")[1])).toEqual([
      "0",
      "1",
      "3",
      "2",
      "4",
      "5",
      "7",
      "9",
      "6",
      "8",
    ]);
  });

  it("sends a full batch without waiting", async () => {
    const { producer, requests } = fakeProducer();
    const b = new KafkaBatcher(producer, 3, 60_000);
    const warm = b.send("t", record("warm"));
    await jest.advanceTimersByTimeAsync(1);
    await warm;
    const sent = ["a", "b", "c"].map((v) => b.send("t", record(v)));
    await jest.advanceTimersByTimeAsync(0);
    await Promise.all(sent);
    expect(requests).toEqual([["t:warm"], ["t:a", "t:b", "t:c"]]);
  });

  it("rejects every record of a failed request, and drain() waits for what is queued", async () => {
    const { producer, requests, setFail } = fakeProducer();
    const b = new KafkaBatcher(producer, 100, 50);
    setFail(true);
    const failed = b.send("t", record("x"));
    const caught = failed.catch((e: Error) => e.message);
    await jest.advanceTimersByTimeAsync(1);
    expect(await caught).toBe("kafka down");
    setFail(false);
    const later = b.send("t", record("y"));
    await b.drain();
    await later;
    expect(requests).toEqual([["t:y"]]);
  });
});
