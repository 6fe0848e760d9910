import { ServiceBroker, type ServiceSchema } from "moleculer";
import { Middleware as Channels } from "@moleculer/channels";
import { reloadConfig } from "../../lib/config";
import { DbMixin } from "../../mixins/db.mixin";
import { OutboxMixin } from "../../mixins/outbox.mixin";
import { waitFor } from "../support/cluster";

const newBroker = () =>
  new ServiceBroker({
    logger: false,
    middlewares: [Channels({ adapter: { type: "Fake", options: {} } } as any)],
  });

const listener = (received: any[]) =>
  ({
    name: "listener",
    channels: {
      "user.registered": { group: "test", handler: (payload: any) => void received.push(payload) },
    },
  }) as any;

const things = (collection: string) =>
  ({ name: "things", mixins: [DbMixin({ collection }), OutboxMixin] }) as ServiceSchema;

describe("the outbox", () => {
  const received: any[] = [];
  const broker = newBroker();
  const svc = broker.createService(things(`things-${Date.now()}`)) as any;
  broker.createService(listener(received));
  const registered = (id: string) =>
    svc.newEvent("user.registered", id, { userId: id, email: "a@b.c", name: "A" });
  /** The documents the sweep's index holds (NeDB: docs without the field are not in a sparse index). */
  const indexed = () =>
    svc.adapter.db.indexes._outboxPending
      .getAll()
      .map((d: any) => d._id)
      .sort();

  beforeAll(() => broker.start());
  afterAll(() => broker.stop());

  it("should publish the events stored with a document, then remove them and the pending mark", async () => {
    const evt = registered("u1");
    await svc.adapter.insert({ _id: "u1", name: "A", ...svc.withOutbox([evt]) });
    await svc.flushOutbox("u1");
    await new Promise((r) => setTimeout(r, 50));
    expect(received.map((e) => e.eventId)).toEqual([evt.eventId]);
    const doc = await svc.adapter.findById("u1");
    expect(doc._outbox).toEqual([]);
    expect(doc).not.toHaveProperty("_outboxPending");
  });

  it("should re-publish on the sweep what an update left pending", async () => {
    const evt = registered("u1");
    await svc.updateOneIf({ _id: "u1" }, svc.pushOutbox({ $set: { name: "B" } }, [evt]));
    expect((await svc.adapter.findById("u1"))._outboxPending).toBe(true);
    await svc.sweepOutbox();
    await new Promise((r) => setTimeout(r, 50));
    expect(received.map((e) => e.eventId)).toContain(evt.eventId);
    const doc = await svc.adapter.findById("u1");
    expect(doc).toMatchObject({ name: "B", _outbox: [] });
    expect(doc).not.toHaveProperty("_outboxPending");
  });

  it("should keep only the pending documents in the sweep's sparse index, not the flushed history", async () => {
    for (let i = 0; i < 20; i++) {
      await svc.adapter.insert({ _id: `sent${i}`, ...svc.withOutbox([registered(`sent${i}`)]) });
      await svc.flushOutbox(`sent${i}`);
    }
    await svc.adapter.insert({ _id: "none", ...svc.withOutbox([]) });
    for (const id of ["p1", "p2"]) await svc.adapter.insert({ _id: id, ...svc.withOutbox([registered(id)]) });
    expect(svc.adapter.db.indexes._outboxPending.sparse).toBe(true);
    expect(indexed()).toEqual(["p1", "p2"]);
  });

  it("should take documents that older code marked not pending out of the index on its first sweep", async () => {
    await svc.adapter.insert({ _id: "legacy", _outbox: [], _outboxPending: false });
    expect(indexed()).toContain("legacy");
    svc.__legacyCleared = false;
    await svc.sweepOutbox();
    expect(indexed()).not.toContain("legacy");
    expect(await svc.adapter.findById("legacy")).not.toHaveProperty("_outboxPending");
  });
});

describe("the outbox sweep period", () => {
  const received: any[] = [];
  const broker = newBroker();
  let svc: any;

  beforeAll(async () => {
    // Read when the service is created, not when the mixin is imported.
    reloadConfig({ ...process.env, OUTBOX_SWEEP_MS: "20" });
    svc = broker.createService(things(`things-sweep-${Date.now()}`));
    broker.createService(listener(received));
    await broker.start();
  });
  afterAll(async () => {
    await broker.stop();
    reloadConfig();
  });

  it("should re-publish a pending event by itself at the configured OUTBOX_SWEEP_MS", async () => {
    const evt = svc.newEvent("user.registered", "s1", { userId: "s1", email: "s@b.c", name: "S" });
    await svc.adapter.insert({ _id: "s1", ...svc.withOutbox([evt]) });
    // Well under the 5 s default: only the configured period can have published it.
    await waitFor(
      "the sweep to publish the pending event",
      async () => received.some((e) => e.eventId === evt.eventId),
      2000,
      20,
    );
  });
});
