import { createRequire } from "node:module";
import { fastBucketDeletes } from "../../lib/nedb-index";

// The NeDB copy moleculer-db's MemoryAdapter uses.
const nedbRequire = createRequire(require.resolve("moleculer-db"));
const Datastore = nedbRequire("@seald-io/nedb");

/** A fresh in-memory datastore indexed on `state`, with `n` documents in state "committed". */
async function store(n: number) {
  const db = new Datastore({ inMemoryOnly: true });
  await db.ensureIndexAsync({ fieldName: "state" });
  await db.ensureIndexAsync({ fieldName: "owner" });
  const docs = Array.from({ length: n }, (_, i) => ({
    _id: `r${i}`,
    state: "committed",
    owner: `o${i % 3}`,
  }));
  await db.insertAsync(docs);
  return db;
}
const bucket = (db: any, field: string, value: unknown): any[] => db.indexes[field].tree.search(value);

describe("fastBucketDeletes: NeDB index buckets lose a document in place", () => {
  beforeAll(() => fastBucketDeletes());

  it("removes an updated document from its old bucket in place, keeping the others in write order", async () => {
    const db = await store(500);
    const committed = bucket(db, "state", "committed");
    await db.updateAsync({ _id: "r7" }, { $set: { state: "released" } });
    // The same array, one shorter: no copy of the bucket was made.
    expect(bucket(db, "state", "committed")).toBe(committed);
    expect(committed.map((d: any) => d._id)).toEqual(
      Array.from({ length: 500 }, (_, i) => `r${i}`).filter((id) => id !== "r7"),
    );
    expect(bucket(db, "state", "released").map((d: any) => d._id)).toEqual(["r7"]);
    // An update of a document staying in its bucket moves it to the end (write order).
    await db.updateAsync({ _id: "r3" }, { $set: { note: "x" } });
    expect(bucket(db, "state", "committed").at(-1)._id).toBe("r3");
    expect(bucket(db, "state", "committed")).toHaveLength(499);
  });

  it("answers queries as NeDB did: counts, finds and removals by indexed fields", async () => {
    const db = await store(300);
    await db.updateAsync({ owner: "o1" }, { $set: { state: "released" } }, { multi: true });
    await db.removeAsync({ _id: "r0" }, {});
    expect(await db.countAsync({ state: "committed" })).toBe(199);
    expect(await db.countAsync({ state: "released" })).toBe(100);
    expect(await db.countAsync({ owner: "o0" })).toBe(99);
    const released = await db.findAsync({ state: "released" });
    expect(released.every((d: any) => d.owner === "o1")).toBe(true);
  });

  it("drops a key whose last document leaves it", async () => {
    const db = await store(2);
    await db.updateAsync({}, { $set: { state: "expired" } }, { multi: true });
    expect(bucket(db, "state", "committed")).toEqual([]);
    expect(
      db.indexes.state
        .getAll()
        .map((d: any) => d._id)
        .sort(),
    ).toEqual(["r0", "r1"]);
    expect(await db.countAsync({ state: "expired" })).toBe(2);
  });

  it("keeps a unique index refusing a duplicate, and taking the value back once it is free", async () => {
    const db = new Datastore({ inMemoryOnly: true });
    await db.ensureIndexAsync({ fieldName: "sku", unique: true });
    await db.insertAsync([
      { _id: "a", sku: "S1" },
      { _id: "b", sku: "S2" },
    ]);
    await expect(db.insertAsync({ _id: "c", sku: "S1" })).rejects.toMatchObject({
      errorType: "uniqueViolated",
    });
    await db.updateAsync({ _id: "a" }, { $set: { sku: "S3" } });
    await db.insertAsync({ _id: "c", sku: "S1" });
    expect((await db.findAsync({ sku: "S1" })).map((d: any) => d._id)).toEqual(["c"]);
  });
});
