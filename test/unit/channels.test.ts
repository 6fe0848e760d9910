/** The JetStream adapter acknowledges each message without the extra progress write on arrival. */
import { JetStreamAdapter } from "../../lib/channels";

function fakeMessage() {
  const calls: string[] = [];
  return {
    calls,
    seq: 1,
    data: Buffer.from(JSON.stringify({ n: 1 })),
    info: { redeliveryCount: 0 },
    working: () => calls.push("working"),
    ack: () => calls.push("ack"),
    nak: () => calls.push("nak"),
  };
}

async function deliver(handler: (payload: unknown, raw: any) => Promise<void>) {
  const adapter: any = new JetStreamAdapter({});
  adapter.serializer = { deserialize: (b: Buffer) => JSON.parse(b.toString()) };
  adapter.broker = { isMetricsEnabled: () => false };
  adapter.logger = { debug: () => undefined, error: () => undefined };
  const chan = { id: "c1", name: "c", group: "g", maxRetries: 3, deadLettering: { enabled: false }, handler };
  adapter.initChannelActiveMessages(chan.id);
  const msg = fakeMessage();
  await adapter.createConsumerHandler(chan)(null, msg);
  return msg.calls;
}

describe("JetStreamAdapter", () => {
  it("acks a handled message with no progress write on arrival", async () => {
    expect(await deliver(async () => undefined)).toEqual(["ack"]);
  });

  it("still sends the progress a long-running handler asks for", async () => {
    expect(await deliver(async (_p, raw) => raw.working())).toEqual(["working", "ack"]);
  });

  it("naks a failed message for redelivery", async () => {
    const calls = await deliver(async () => {
      throw new Error("boom");
    });
    expect(calls).toEqual(["nak"]);
  });
});
