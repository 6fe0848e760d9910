import { ServiceBroker } from "moleculer";
import { DbMixin } from "../../mixins/db.mixin";

describe("DbMixin.latestOf on the embedded store", () => {
  const broker = new ServiceBroker({ logger: false });
  const svc = broker.createService({
    name: "things",
    mixins: [
      DbMixin({ collection: `latest-${Date.now()}`, indexes: [{ fields: { owner: 1, createdAt: -1 } }] }),
    ],
  } as any) as any;
  beforeAll(async () => {
    await broker.start();
    const at = (m: number) => new Date(Date.UTC(2026, 0, 1, 0, m)).toISOString();
    await svc.adapter.insertMany([
      {
        _id: "a1",
        owner: "a",
        kind: "order",
        createdAt: at(1),
        total: 1,
        address: { country: "US", city: "X" },
      },
      {
        _id: "a3",
        owner: "a",
        kind: "order",
        createdAt: at(3),
        total: 3,
        address: { country: "DE", city: "Y" },
      },
      {
        _id: "a2",
        owner: "a",
        kind: "order",
        createdAt: at(2),
        total: 2,
        address: { country: "FR", city: "Z" },
      },
      { _id: "ak", owner: "a", kind: "key", createdAt: at(9), total: 9 },
      { _id: "b1", owner: "b", kind: "order", createdAt: at(5), total: 5 },
    ]);
  });
  afterAll(() => broker.stop());

  const ids = (docs: readonly any[]) => docs.map((d) => d._id).sort();

  it("should answer the owner's latest written documents of the kind, whole (the embedded store reads them in place)", async () => {
    const docs = await svc.latestOf("owner", "a", {
      where: { kind: "order" },
      fields: ["_id", "total"],
      limit: 2,
    });
    expect(ids(docs)).toEqual(["a2", "a3"]);
    expect(docs.find((d: any) => d._id === "a3")).toMatchObject({
      total: 3,
      address: { country: "DE", city: "Y" },
    });
    expect(await svc.latestOf("owner", "c", { fields: ["_id"], limit: 5 })).toEqual([]);
    expect(ids(await svc.latestOf("owner", "a", { fields: ["_id"], limit: 9 }))).toEqual([
      "a1",
      "a2",
      "a3",
      "ak",
    ]);
  });

  it("should count an update as the latest write, and answer the updated version", async () => {
    await svc.adapter.updateById("a1", { $set: { total: 10 } });
    const docs = await svc.latestOf("owner", "a", { where: { kind: "order" }, fields: ["total"], limit: 2 });
    expect(ids(docs)).toEqual(["a1", "a2"]);
    expect(docs.find((d: any) => d._id === "a1")).toMatchObject({ total: 10 });
  });

  it("should order by several fields and limit, reading the latest version of each document", async () => {
    await svc.adapter.insertMany([
      { _id: "q2", queue: "x", at: 2 },
      { _id: "q1b", queue: "x", at: 1 },
      { _id: "q1a", queue: "x", at: 1 },
      { _id: "q0", queue: "y", at: 0 },
    ]);
    await svc.adapter.db.ensureIndexAsync({ fieldName: "queue" });
    const order = async (limit?: number) =>
      (await svc.sortedOf("queue", "x", { sort: ["at", "_id"], limit })).map((d: any) => d._id);
    expect(await order()).toEqual(["q1a", "q1b", "q2"]);
    expect(await order(2)).toEqual(["q1a", "q1b"]);
    await svc.adapter.updateById("q1a", { $set: { at: 3 } });
    expect(await order()).toEqual(["q1b", "q2", "q1a"]);
  });

  it("should refuse a field the store has no index of", async () => {
    await expect(svc.latestOf("total", 1, { fields: ["_id"], limit: 1 })).rejects.toThrow(
      /total is not indexed/,
    );
  });
});

describe("DbMixin's retired indexes on the embedded store", () => {
  const collection = `retired-${Date.now()}`;
  const start = async (settings: object) => {
    const broker = new ServiceBroker({ logger: false });
    const svc = broker.createService({
      name: "things",
      settings,
      mixins: [DbMixin({ collection })],
    } as any) as any;
    await broker.start();
    return { broker, svc };
  };

  it("should drop an index an earlier version created, and keep the fields a wanted index still uses", async () => {
    const before = await start({ dbIndexes: { old: { fields: { old: 1, createdAt: -1 } } } });
    await before.svc.adapter.insert({ _id: "x", old: "a", createdAt: "2026-01-01" });
    expect(Object.keys(before.svc.adapter.db.indexes).sort()).toEqual(["_id", "createdAt", "old"]);
    await before.broker.stop();

    const after = await start({
      dbIndexes: { kept: { fields: { createdAt: -1 } } },
      dbRetiredIndexes: [{ fields: { old: 1, createdAt: -1 } }],
    });
    expect(Object.keys(after.svc.adapter.db.indexes).sort()).toEqual(["_id", "createdAt"]);
    expect(await after.svc.adapter.findById("x")).toMatchObject({ old: "a" });
    await after.broker.stop();
  });
});

describe("DbMixin's indexes on the embedded store: sparse unless unique", () => {
  const start = async (collection: string) => {
    const broker = new ServiceBroker({ logger: false });
    const svc = broker.createService({
      name: "things",
      mixins: [
        DbMixin({
          collection,
          indexes: [{ fields: { state: 1, expiresAtMs: 1 } }, { fields: { sku: 1 }, unique: true }],
        }),
      ],
    } as any) as any;
    await broker.start();
    return { broker, svc };
  };

  it("should keep documents without the field out of the index, and find the others through it", async () => {
    const { broker, svc } = await start(`sparse-a-${Date.now()}`);
    await svc.adapter.insertMany([
      ...Array.from({ length: 50 }, (_, i) => ({ _id: `s${i}`, kind: "stock", sku: `S${i}` })),
      { _id: "r1", kind: "reservation", sku: "R1", state: "pending", expiresAtMs: 10 },
      { _id: "r2", kind: "reservation", sku: "R2", state: "committed", expiresAtMs: 20 },
    ]);
    const { indexes } = svc.adapter.db;
    // The 50 stock records, which have no state, are in no bucket of it.
    expect(
      indexes.state
        .getAll()
        .map((d: any) => d._id)
        .sort(),
    ).toEqual(["r1", "r2"]);
    expect(indexes.expiresAtMs.getAll()).toHaveLength(2);
    expect(indexes.sku.sparse).toBe(false);
    expect(
      (await svc.adapter.find({ query: { state: { $in: ["pending"] }, expiresAtMs: { $lt: 15 } } })).map(
        (d: any) => d._id,
      ),
    ).toEqual(["r1"]);
    await expect(svc.adapter.insert({ _id: "dup", sku: "S1" })).rejects.toMatchObject({
      errorType: "uniqueViolated",
    });
    await broker.stop();
  });

  it("should build again an index an earlier version stored as not sparse", async () => {
    const collection = `sparse-b-${Date.now()}`;
    const first = await start(collection);
    await first.svc.adapter.insert({ _id: "s1", kind: "stock", sku: "S1" });
    await first.svc.adapter.insert({
      _id: "r1",
      kind: "reservation",
      sku: "R1",
      state: "pending",
      expiresAtMs: 10,
    });
    // As an earlier version left it: the field indexed with every document, those without it too.
    await first.svc.adapter.db.removeIndexAsync("state");
    await first.svc.adapter.db.ensureIndexAsync({ fieldName: "state", sparse: false });
    expect(first.svc.adapter.db.indexes.state.getAll()).toHaveLength(2);
    await first.broker.stop();

    const again = await start(collection);
    expect(again.svc.adapter.db.indexes.state.sparse).toBe(true);
    expect(again.svc.adapter.db.indexes.state.getAll().map((d: any) => d._id)).toEqual(["r1"]);
    expect(await again.svc.adapter.count({ query: { state: "pending" } })).toBe(1);
    await again.broker.stop();
  });
});
