import { ServiceBroker } from "moleculer";
import { DbMixin, pickPaths } from "../../mixins/db.mixin";

describe("DbMixin.newestOf on the embedded store", () => {
  const broker = new ServiceBroker({ logger: false });
  const svc = broker.createService({
    name: "things",
    mixins: [
      DbMixin({ collection: `newest-${Date.now()}`, indexes: [{ fields: { owner: 1, createdAt: -1 } }] }),
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

  it("should answer the owner's newest documents of the kind, limited, with only the fields asked", async () => {
    const fields = ["_id", "total", "address.country"];
    expect(await svc.newestOf("owner", "a", { where: { kind: "order" }, fields, limit: 2 })).toEqual([
      { _id: "a3", total: 3, address: { country: "DE" } },
      { _id: "a2", total: 2, address: { country: "FR" } },
    ]);
    expect(await svc.newestOf("owner", "c", { fields, limit: 5 })).toEqual([]);
    expect((await svc.newestOf("owner", "a", { fields: ["_id"], limit: 9 })).map((d: any) => d._id)).toEqual([
      "ak",
      "a3",
      "a2",
      "a1",
    ]);
  });

  it("should leave the stored documents as they were when an answer is changed", async () => {
    const [first] = await svc.newestOf("owner", "a", {
      where: { kind: "order" },
      fields: ["address.country"],
      limit: 1,
    });
    first.address.country = "XX";
    expect((await svc.adapter.findById("a3")).address).toEqual({ country: "DE", city: "Y" });
  });

  it("should refuse a field the store has no index of", async () => {
    await expect(svc.newestOf("total", 1, { fields: ["_id"], limit: 1 })).rejects.toThrow(
      /total is not indexed/,
    );
  });

  it("should pick dotted paths as a MongoDB projection does, leaving out what is missing", () => {
    expect(pickPaths({ a: 1, b: { c: 2, d: 3 }, e: null }, ["a", "b.c", "e", "x.y"])).toEqual({
      a: 1,
      b: { c: 2 },
      e: null,
    });
  });
});
