import { ServiceBroker, type ServiceSchema } from "moleculer";
import { Middleware as Channels } from "@moleculer/channels";
import { DbMixin } from "../../mixins/db.mixin";
import { OutboxMixin } from "../../mixins/outbox.mixin";

describe("the outbox", () => {
  const received: any[] = [];
  const broker = new ServiceBroker({
    logger: false,
    middlewares: [Channels({ adapter: { type: "Fake", options: {} } } as any)],
  });
  const svc = broker.createService({
    name: "things",
    mixins: [DbMixin({ collection: `things-${Date.now()}` }), OutboxMixin],
  } as ServiceSchema) as any;
  broker.createService({
    name: "listener",
    channels: {
      "user.registered": { group: "test", handler: (payload: any) => void received.push(payload) },
    },
  } as any);

  beforeAll(() => broker.start());
  afterAll(() => broker.stop());

  it("should publish the events stored with a document, then remove them from it", async () => {
    const evt = svc.newEvent("user.registered", "u1", { userId: "u1", email: "a@b.c", name: "A" });
    await svc.adapter.insert({ _id: "u1", name: "A", ...svc.withOutbox([evt]) });
    await svc.flushOutbox("u1");
    await new Promise((r) => setTimeout(r, 50));
    expect(received.map((e) => e.eventId)).toEqual([evt.eventId]);
    const doc = await svc.adapter.findById("u1");
    expect(doc._outbox).toEqual([]);
    expect(doc._outboxPending).toBe(false);
  });

  it("should re-publish on the sweep what an update left pending", async () => {
    const evt = svc.newEvent("user.registered", "u1", { userId: "u1", email: "a@b.c", name: "B" });
    await svc.updateOneIf({ _id: "u1" }, svc.pushOutbox({ $set: { name: "B" } }, [evt]));
    expect((await svc.adapter.findById("u1"))._outboxPending).toBe(true);
    await svc.sweepOutbox();
    await new Promise((r) => setTimeout(r, 50));
    expect(received.map((e) => e.eventId)).toContain(evt.eventId);
    const doc = await svc.adapter.findById("u1");
    expect(doc).toMatchObject({ name: "B", _outbox: [], _outboxPending: false });
  });
});
