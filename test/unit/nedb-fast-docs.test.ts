import { createRequire } from "node:module";
import v8 from "node:v8";
import { copyValue, fastDocuments } from "../../lib/nedb-fast-docs";

// The NeDB copy moleculer-db's MemoryAdapter uses, and its own copy (taken before the patch).
const nedbRequire = createRequire(require.resolve("moleculer-db"));
const Datastore = nedbRequire("@seald-io/nedb");
const model = nedbRequire("@seald-io/nedb/lib/model.js");
const nedbCopy = model.deepCopy;

// V8's own answer to "is this object a hash table?" (a natives call, allowed from here on).
v8.setFlagsFromString("--allow-natives-syntax");
const hasFixedLayout = new Function("o", "return %HasFastProperties(o)") as (o: object) => boolean;

/** An order-like document of 20 fields (past V8's 16, where keyed stores make a hash table). */
const order = () => ({
  _id: "o1",
  kind: "order",
  userId: "u1",
  cartId: "c1",
  items: [{ productId: "p1", variantId: "v1", quantity: 2, unitPrice: 1250, name: "Mug" }],
  subtotal: 2500,
  total: 2500,
  currency: "EUR",
  status: "pending",
  history: [{ status: "pending", at: "2026-12-03T10:00:00.000Z" }],
  payment: { id: null, status: "pending" },
  paymentToken: "tok_visa",
  shippingAddress: { name: "A", line1: "B 1", city: "C", postalCode: "10115", country: "DE" },
  fromCart: false,
  step: "reserve",
  hidden: false,
  leaseUntil: 1764756000000,
  leaseOwner: "lease-1",
  createdAt: "2026-12-03T10:00:00.000Z",
  updatedAt: "2026-12-03T10:00:00.000Z",
});

describe("fastDocuments: NeDB's copies keep a fixed layout", () => {
  beforeAll(() => fastDocuments());

  it("copies what NeDB's own copy copies, deeply", () => {
    const at = new Date("2026-12-03T10:00:00.000Z");
    const inherited = Object.create({ fromPrototype: 1 });
    inherited.own = 2;
    const values: unknown[] = [
      order(),
      { at, nested: { list: [1, { deep: [at, null] }], flag: true }, nothing: null, gone: undefined },
      { fn: () => 1, sym: Symbol("s"), big: BigInt(1), ok: "kept" },
      inherited,
      [order(), "x", 3],
      "text",
      7,
      null,
      at,
    ];
    for (const v of values) {
      const copy = copyValue(v);
      expect(copy).toStrictEqual(nedbCopy(v));
      if (v && typeof v === "object" && !(v instanceof Date)) expect(copy).not.toBe(v);
    }
    // Deep: changing the copy's nested values leaves the original alone; Dates are shared as NeDB shares them.
    const source = order();
    const copy = copyValue(source) as ReturnType<typeof order>;
    copy.items[0].quantity = 9;
    copy.shippingAddress.country = "FR";
    expect(source.items[0].quantity).toBe(2);
    expect(source.shippingAddress.country).toBe("DE");
  });

  it("stores inserted and updated documents with a fixed layout, their contents unchanged", async () => {
    expect(hasFixedLayout(nedbCopy(order()))).toBe(false);
    const db = new Datastore({ inMemoryOnly: true });
    await db.insertAsync(order());
    const stored = () => db.getAllData().find((d: { _id: string }) => d._id === "o1");
    expect(hasFixedLayout(stored())).toBe(true);
    await db.updateAsync(
      { _id: "o1" },
      { $set: { step: "charge", risk: '{"score":7}', riskCard: "abc" }, $unset: { leaseUntil: true } },
    );
    expect(hasFixedLayout(stored())).toBe(true);
    const { leaseUntil, ...rest } = order();
    expect(leaseUntil).toBeDefined();
    expect(stored()).toStrictEqual({ ...rest, step: "charge", risk: '{"score":7}', riskCard: "abc" });
    const [found] = await db.findAsync({ _id: "o1" });
    expect(hasFixedLayout(found)).toBe(true);
    expect(found).toStrictEqual(stored());
    expect(found).not.toBe(stored());
  });

  it("still filters keys as NeDB does when an upsert copies its query", async () => {
    const db = new Datastore({ inMemoryOnly: true });
    await db.updateAsync({ _id: "u1", qty: { $gt: 1 } }, { $set: { name: "x" } }, { upsert: true });
    // NeDB's own answer: the operator left out, the field it was under kept empty.
    expect(db.getAllData()).toStrictEqual([{ _id: "u1", qty: {}, name: "x" }]);
  });
});
