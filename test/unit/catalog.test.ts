import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ServiceBroker, type ServiceSchema } from "moleculer";
import { CacheClean, type EventEnvelope } from "../../contracts";
import { reloadConfig } from "../../lib/config";
import { brokerOptions } from "../../moleculer.config";
import { demoCatalogue } from "../../scripts/seed";
import { checkOptions, checkVariants } from "../../domain/variants";
import { MAX_PAGE_SIZE, pageWindow, totalPages } from "../../domain/paging";
import {
  escapeRegExp,
  normalizeList,
  productEventData,
  productQuery,
  sortSpec,
  toEntry,
  type ProductDoc,
} from "../../domain/catalog";

const ADMIN = { meta: { user: { id: "admin-1", role: "admin" as const } } };

describe("catalogue rules", () => {
  it("should match user text literally, never as a pattern", () => {
    const q = productQuery({ q: ".*(a+)+$" });
    const [{ name }] = (q.$or as Array<{ name: RegExp }>).slice(0, 1);
    expect(name.test("xx.*(a+)+$yy")).toBe(true);
    expect(name.test("anything else")).toBe(false);
    expect(name.flags).toContain("i");
    expect(escapeRegExp("a.b[c]")).toBe("a\\.b\\[c\\]");
    // Found by Schemathesis on MongoDB: a NUL in `q` failed the query's serialization (500).
    expect(escapeRegExp("a\0b")).not.toContain("\0");
    expect(new RegExp(escapeRegExp("a\0.b")).test("xa\0.by")).toBe(true);
  });

  it("should build a query only from known filters, always without deleted products", () => {
    expect(productQuery({})).toEqual({ deleted: false });
    expect(productQuery({ category: "books", minPrice: 100, maxPrice: 500 })).toEqual({
      deleted: false,
      category: "books",
      price: { $gte: 100, $lte: 500 },
    });
    expect(productQuery({ minPrice: 0 })).toEqual({ deleted: false, price: { $gte: 0 } });
  });

  it("should sort only by whitelisted fields, the id breaking ties", () => {
    expect(sortSpec("-price")).toEqual(["-price", "_id"]);
    expect(() => sortSpec("password" as never)).toThrow(RangeError);
  });

  it("should cap pageSize at 100 instead of refusing it, and apply the defaults", () => {
    expect(normalizeList({ pageSize: 10_000 }).pageSize).toBe(MAX_PAGE_SIZE);
    expect(normalizeList({})).toEqual({ page: 1, pageSize: 20, sort: "-createdAt" });
    expect(normalizeList({ q: "   " })).not.toHaveProperty("q");
    expect(normalizeList({ q: " lamp " }).q).toBe("lamp");
  });

  it("should compute the page window and the page count", () => {
    expect(pageWindow(3, 20)).toEqual({ offset: 40, limit: 20 });
    expect(totalPages(0, 20)).toBe(0);
    expect(totalPages(41, 20)).toBe(3);
  });

  it("should shape products and their events without internal fields", () => {
    const doc: ProductDoc = {
      _id: "p1",
      sku: "S1",
      name: "Lamp",
      description: "",
      price: 1999,
      currency: "USD",
      category: "home",
      images: [],
      active: true,
      deleted: false,
      version: 3,
      createdAt: "2026-01-01T00:00:00.000Z",
      updatedAt: "2026-01-01T00:00:00.000Z",
    };
    expect(Object.keys(toEntry(doc)).sort()).toEqual(
      [
        "active",
        "category",
        "createdAt",
        "currency",
        "description",
        "id",
        "images",
        "name",
        "options",
        "price",
        "prices",
        "sku",
        "updatedAt",
        "variants",
      ].sort(),
    );
    expect(productEventData(doc)).toEqual({
      productId: "p1",
      sku: "S1",
      name: "Lamp",
      price: 1999,
      currency: "USD",
      category: "home",
      active: true,
      variants: [{ variantId: "p1", sku: "S1", price: 1999, active: true }],
    });
  });
});

describe("the demo catalogue of npm run seed", () => {
  it("should hold at least 200 products in at least 8 categories, with stock and fixed, unique SKUs", () => {
    const products = demoCatalogue();
    expect(products.length).toBeGreaterThanOrEqual(200);
    expect(new Set(products.map((p) => p.category)).size).toBeGreaterThanOrEqual(8);
    const skus = products.flatMap((p) => [p.sku, ...(p.variants ?? []).map((v) => v.sku)]);
    expect(new Set(skus).size).toBe(skus.length);
    const stocks = products.flatMap((p) =>
      p.variants ? p.variants.map((v) => v.stock ?? 0) : [p.stock ?? 0],
    );
    expect(stocks.some((n) => n > 0)).toBe(true);
    expect(demoCatalogue()).toEqual(products);
  });

  it("should sell the apparel in sizes and colours, each variant valid by the catalogue's rules", () => {
    const sized = demoCatalogue().filter((p) => p.options?.length);
    expect(sized.length).toBeGreaterThanOrEqual(10);
    for (const p of sized) {
      expect(p.options!.map((o) => o.name)).toEqual(["Size", "Color"]);
      expect(p.variants).toHaveLength(12);
      expect([...checkOptions(p.options!), ...checkVariants(p.options!, p.variants!)]).toEqual([]);
      expect(p.stock).toBeUndefined();
    }
  });

  it("should keep the catalogue the same from run to run", () => {
    const products = demoCatalogue();
    expect(demoCatalogue()).toEqual(products);
  });
});

/** The products service alone, with a stand-in inventory that counts its calls. */
describe("the products service", () => {
  const events: EventEnvelope[] = [];
  const inventoryCalls = { getMany: 0, init: [] as Array<{ productId: string; available: number }> };
  let broker: ServiceBroker;
  let svc: any;
  let failNextInit = false;
  let stockLevel = 7;
  let hold: Promise<void> = Promise.resolve();

  const stubInventory: ServiceSchema = {
    name: "inventory",
    actions: {
      async getMany(ctx: any) {
        inventoryCalls.getMany++;
        const available = stockLevel;
        await hold;
        return ctx.params.productIds.map((productId: string) => ({ productId, available, reserved: 0 }));
      },
      init(ctx: any) {
        if (failNextInit) {
          failNextInit = false;
          throw new Error("store down");
        }
        inventoryCalls.init.push(ctx.params);
        return { ...ctx.params, reserved: 0 };
      },
    },
  };
  const listener = {
    name: "listener",
    channels: Object.fromEntries(
      ["product.created", "product.updated", "product.deleted"].map((ch) => [
        ch,
        { group: "test", handler: (ctx: any) => void events.push(ctx.params) },
      ]),
    ),
  } as ServiceSchema;

  beforeAll(async () => {
    process.env.DATA_DIR = fs.mkdtempSync(path.join(os.tmpdir(), "catalog-unit-"));
    broker = new ServiceBroker({ ...brokerOptions(reloadConfig()), logger: false });
    svc = broker.createService(require("../../services/products.service").default);
    broker.createService(stubInventory);
    broker.createService(listener);
    await broker.start();
  });
  afterAll(() => broker.stop());

  const create = (params: Record<string, unknown>) =>
    broker.call("products.create", params, ADMIN) as Promise<any>;

  it("should create a product with defaults, a generated sku and its stock set in inventory", async () => {
    const p = await create({ name: "Desk lamp", price: 2599, stock: 12 });
    expect(p).toMatchObject({
      name: "Desk lamp",
      price: 2599,
      currency: "USD",
      category: "uncategorized",
      description: "",
      images: [],
      active: true,
      available: 12,
    });
    expect(p.sku).toMatch(/^SKU-[0-9A-F]{10}$/);
    expect(inventoryCalls.init).toContainEqual({ productId: p.id, available: 12 });
  });

  it("should refuse a taken sku with 409 and write nothing", async () => {
    await create({ name: "A", price: 1, sku: "DUP-1" });
    await expect(create({ name: "B", price: 1, sku: "DUP-1" })).rejects.toMatchObject({
      code: 409,
      type: "SKU_TAKEN",
    });
    expect(await svc.adapter.count({ query: { name: "B" } })).toBe(0);
  });

  it.each([
    ["an unknown field", { name: "X", price: 1, role: "admin" }, "role"],
    ["a price as text", { name: "X", price: "100" }, "price"],
    ["an operator object for the name", { name: { $ne: null }, price: 1 }, "name"],
    ["a negative stock", { name: "X", price: 1, stock: -1 }, "stock"],
    ["an image that is not a URL", { name: "X", price: 1, images: ["javascript:alert(1)"] }, "images[0]"],
  ])("should refuse %s with a validation error naming the field", async (_what, params, field) => {
    const err: any = await create(params).catch((e) => e);
    expect(err.name).toBe("ValidationError");
    expect(err.code).toBe(422);
    expect(JSON.stringify(err.data)).toContain(field);
  });

  it("should refuse operator objects in list filters", async () => {
    for (const params of [{ q: { $regex: ".*" } }, { minPrice: { $gt: "0" } }, { category: { $ne: "" } }]) {
      await expect(broker.call("products.list", params)).rejects.toMatchObject({ code: 422 });
    }
  });

  it("should ask inventory once per page, whatever the page size", async () => {
    for (let i = 0; i < 5; i++) await create({ name: `Batch ${i}`, price: 100 + i, category: "batch" });
    const before = inventoryCalls.getMany;
    const page: any = await broker.call("products.list", { category: "batch", pageSize: 100 });
    expect(page.rows).toHaveLength(5);
    expect(page.rows.every((r: any) => r.available === 7)).toBe(true);
    expect(inventoryCalls.getMany - before).toBe(1);
  });

  it("should serve a repeated list from the cache, and read fresh after a write", async () => {
    const find = jest.spyOn(svc.adapter, "find");
    const first: any = await broker.call("products.list", { category: "batch", sort: "price" });
    const again: any = await broker.call("products.list", { category: "batch", sort: "price" });
    expect(again).toEqual(first);
    expect(find).toHaveBeenCalledTimes(1);

    await broker.call("products.update", { id: first.rows[0].id, price: 1 }, ADMIN);
    const fresh: any = await broker.call("products.list", { category: "batch", sort: "price" });
    expect(fresh.rows[0].price).toBe(1);
    find.mockRestore();
  });

  it("should not cache an answer read from stock that changed while it was being read", async () => {
    const p = await create({ name: "Racy", price: 100, category: "racy" });
    let release!: () => void;
    hold = new Promise((r) => (release = r));
    const slow = broker.call("products.list", { category: "racy" }) as Promise<any>;
    await new Promise((r) => setTimeout(r, 20));
    // What inventory does after a reservation: the stock changes, then the broadcast.
    stockLevel = 3;
    await broker.broadcast(CacheClean.products);
    release();
    expect((await slow).rows[0].available).toBe(7);
    hold = Promise.resolve();
    expect(((await broker.call("products.list", { category: "racy" })) as any).rows[0].available).toBe(3);
    expect(((await broker.call("products.get", { id: p.id })) as any).available).toBe(3);
    stockLevel = 7;
    await broker.broadcast(CacheClean.products);
  });

  it("should publish created, updated and deleted with the data of the Kafka table", async () => {
    const p = await create({ name: "Evented", price: 500, category: "ev", sku: "EV-1" });
    await broker.call("products.update", { id: p.id, price: 450 }, ADMIN);
    await broker.call("products.remove", { id: p.id }, ADMIN);
    await new Promise((r) => setTimeout(r, 50));
    const mine = events.filter((e) => e.key === p.id);
    expect(mine.map((e) => e.type)).toEqual(["product.created", "product.updated", "product.deleted"]);
    expect(mine[1].data).toEqual({
      productId: p.id,
      sku: "EV-1",
      name: "Evented",
      price: 450,
      currency: "USD",
      category: "ev",
      active: true,
      variants: [{ variantId: p.id, sku: "EV-1", price: 450, active: true }],
    });
    expect(mine[2].data).toEqual({ productId: p.id });
    for (const e of mine)
      expect(e).toMatchObject({ eventId: expect.any(String), version: 1, occurredAt: expect.any(String) });
  });

  it("should answer 404 for a deleted product and free its sku", async () => {
    const p = await create({ name: "Gone", price: 1, sku: "GONE-1" });
    await broker.call("products.get", { id: p.id });
    await broker.call("products.remove", { id: p.id }, ADMIN);
    await expect(broker.call("products.get", { id: p.id })).rejects.toMatchObject({ code: 404 });
    await expect(broker.call("products.remove", { id: p.id }, ADMIN)).rejects.toMatchObject({ code: 404 });
    await expect(broker.call("products.update", { id: p.id, price: 2 }, ADMIN)).rejects.toMatchObject({
      code: 404,
    });
    expect((await create({ name: "Back", price: 1, sku: "GONE-1" })).sku).toBe("GONE-1");
  });

  it("should keep the product out when inventory cannot set its stock", async () => {
    failNextInit = true;
    await expect(create({ name: "Half", price: 1, sku: "HALF-1" })).rejects.toThrow("store down");
    expect(await svc.adapter.count({ query: { sku: "HALF-1" } })).toBe(0);
    expect((await create({ name: "Half", price: 1, sku: "HALF-1" })).sku).toBe("HALF-1");
  });
});
