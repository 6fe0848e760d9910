/**
 * Carts, orders and stock per variant through the HTTP gateway (API.md "Variants and options"),
 * every service in one broker on NeDB, as test/integration/checkout.test.ts runs them.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { ServiceBroker } from "moleculer";
import type { EventEnvelope } from "../../contracts";
import { waitFor } from "../support/cluster";
import { bootNode } from "../support/node";
import { ADDRESS, VISA } from "../support/fixtures";
import { jsonClient } from "../support/http";

const ADMIN = { email: "variants-admin@shop.test", password: "variants-admin-pw" };
const ADMIN_META = { meta: { user: { id: "admin", role: "admin" } } };

describe("checkout per variant over HTTP, every service in one broker on NeDB", () => {
  let broker: ServiceBroker;
  let base: string;
  let adminToken: string;
  const events: EventEnvelope[] = [];
  let seq = 0;
  const http = jsonClient(() => base);

  const signup = async () => {
    const res = await http("POST", "/api/user/signup", {
      email: `vbuyer${++seq}-${Date.now()}@shop.test`,
      password: "buyer-password",
      name: "Buyer",
    });
    expect(res.status).toBe(201);
    return { token: res.body.accessToken as string, id: res.body.user.id as string };
  };
  /** A shirt in M and L (Red), stock 5 and 3 unless given. */
  const shirt = async (stock: [number, number] = [5, 3]) => {
    const n = ++seq;
    const res = await http(
      "POST",
      "/api/products",
      {
        name: `Shirt ${n}`,
        price: 2000,
        options: [{ name: "Size", values: ["M", "L"] }],
        variants: [
          { sku: `SH-${n}-M`, options: { Size: "M" }, stock: stock[0] },
          { sku: `SH-${n}-L`, options: { Size: "L" }, price: 2200, stock: stock[1] },
        ],
      },
      adminToken,
    );
    expect(res.status).toBe(201);
    const [m, l] = res.body.variants;
    return { product: res.body, m, l };
  };
  const simple = async (price: number, stock: number) =>
    (await broker.call("products.create", { name: `Mug ${++seq}`, price, stock }, ADMIN_META)) as any;
  const stock = (id: string) => http("GET", `/api/inventory/${id}`, undefined, adminToken);
  const order = (token: string, items: unknown[]) =>
    http("POST", "/api/orders", { items, payment: VISA, shippingAddress: ADDRESS }, token);
  const fieldsOf = (body: any) => (body.data ?? []).map((d: any) => d.field);
  const deactivate = (productId: string, variantId: string) =>
    broker.call("products.updateVariant", { id: productId, variantId, active: false }, ADMIN_META);

  beforeAll(async () => {
    ({ broker, base } = await bootNode({
      DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), "variants-int-")),
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
      RATE_LIMIT_PER_MINUTE: "1000000",
      AUTH_RATE_LIMIT_PER_MINUTE: "100000",
      LOW_STOCK_THRESHOLD: "2",
    }));
    const send = (broker as any).sendToChannel.bind(broker);
    (broker as any).sendToChannel = (channel: string, payload: any, opts: unknown) => {
      events.push(payload);
      return send(channel, payload, opts);
    };
    const login = await http("POST", "/api/user/login", ADMIN);
    expect(login.status).toBe(200);
    adminToken = login.body.accessToken;
  }, 120_000);

  afterAll(() => broker?.stop());

  describe("the cart", () => {
    it("should keep one line per variant of one product, each at its variant's price", async () => {
      const ann = await signup();
      const { product, m, l } = await shirt();
      await http("POST", "/api/cart/items", { variantId: m.id, quantity: 1 }, ann.token);
      const res = await http(
        "POST",
        "/api/cart/items",
        { productId: product.id, variantId: l.id, quantity: 2 },
        ann.token,
      );
      expect(res.status).toBe(200);
      expect(res.body.items).toEqual([
        {
          productId: product.id,
          variantId: m.id,
          sku: m.sku,
          name: product.name,
          variantTitle: "M",
          unitPrice: 2000,
          quantity: 1,
          lineTotal: 2000,
          unavailable: false,
        },
        {
          productId: product.id,
          variantId: l.id,
          sku: l.sku,
          name: product.name,
          variantTitle: "L",
          unitPrice: 2200,
          quantity: 2,
          lineTotal: 4400,
          unavailable: false,
        },
      ]);
      expect(res.body.subtotal).toBe(6400);
    });

    it("should change and remove a line by its variant id", async () => {
      const ann = await signup();
      const { m, l } = await shirt();
      await http("POST", "/api/cart/items", { variantId: m.id, quantity: 1 }, ann.token);
      await http("POST", "/api/cart/items", { variantId: l.id, quantity: 1 }, ann.token);
      const patched = await http("PATCH", `/api/cart/items/${l.id}`, { quantity: 4 }, ann.token);
      expect(patched.body.items.map((x: any) => [x.variantId, x.quantity])).toEqual([
        [m.id, 1],
        [l.id, 4],
      ]);
      const removed = await http("DELETE", `/api/cart/items/${m.id}`, undefined, ann.token);
      expect(removed.body.items.map((x: any) => x.variantId)).toEqual([l.id]);
    });

    it("should refuse productId alone for a product with several variants, with 422 on variantId", async () => {
      const ann = await signup();
      const { product } = await shirt();
      const res = await http("POST", "/api/cart/items", { productId: product.id, quantity: 1 }, ann.token);
      expect(res.status).toBe(422);
      expect(fieldsOf(res.body)).toEqual(["variantId"]);
    });

    it("should refuse a variant given with another product's id, with 422 on variantId", async () => {
      const ann = await signup();
      const mug = await simple(500, 5);
      const { m } = await shirt();
      const res = await http(
        "POST",
        "/api/cart/items",
        { productId: mug.id, variantId: m.id, quantity: 1 },
        ann.token,
      );
      expect([res.status, fieldsOf(res.body)]).toEqual([422, ["variantId"]]);
    });

    it("should answer 404 for an unknown variant", async () => {
      const ann = await signup();
      const res = await http(
        "POST",
        "/api/cart/items",
        { variantId: "no-such-variant", quantity: 1 },
        ann.token,
      );
      expect(res.status).toBe(404);
    });

    it("should refuse an inactive variant with 422 on variantId", async () => {
      const ann = await signup();
      const { product, l } = await shirt();
      await deactivate(product.id, l.id);
      const res = await http("POST", "/api/cart/items", { variantId: l.id, quantity: 1 }, ann.token);
      expect([res.status, fieldsOf(res.body)]).toEqual([422, ["variantId"]]);
    });

    it("should show a line whose variant became inactive as unavailable, left out of the subtotal", async () => {
      const ann = await signup();
      const { product, m, l } = await shirt();
      await http("POST", "/api/cart/items", { variantId: m.id, quantity: 1 }, ann.token);
      await http("POST", "/api/cart/items", { variantId: l.id, quantity: 1 }, ann.token);
      await deactivate(product.id, l.id);
      const cart = (await http("GET", "/api/cart", undefined, ann.token)).body;
      expect(cart.items.map((x: any) => [x.variantId, x.unavailable])).toEqual([
        [m.id, false],
        [l.id, true],
      ]);
      expect(cart.subtotal).toBe(2000);
    });

    it("should refuse checking out a cart holding an inactive variant, naming its line, with nothing reserved", async () => {
      const ann = await signup();
      const { product, m, l } = await shirt();
      await http("POST", "/api/cart/items", { variantId: m.id, quantity: 1 }, ann.token);
      await http("POST", "/api/cart/items", { variantId: l.id, quantity: 1 }, ann.token);
      await deactivate(product.id, l.id);
      const res = await http("POST", "/api/orders", { payment: VISA, shippingAddress: ADDRESS }, ann.token);
      expect([res.status, fieldsOf(res.body)]).toEqual([422, ["cart[1].variantId"]]);
      expect((await stock(m.id)).body).toMatchObject({ available: 5, reserved: 0 });
    });

    it("should read a cart line stored before variants as the product's default variant", async () => {
      const ann = await signup();
      const mug = await simple(700, 5);
      const now = new Date().toISOString();
      const old = { productId: mug.id, name: mug.name, unitPrice: 700, currency: "USD", quantity: 2 };
      await (broker.getLocalService("carts") as any).adapter.insert({
        _id: ann.id,
        items: [old],
        version: 1,
        createdAt: now,
        updatedAt: now,
      });
      const cart = (await http("GET", "/api/cart", undefined, ann.token)).body;
      expect(cart.items).toEqual([
        expect.objectContaining({
          productId: mug.id,
          variantId: mug.id,
          sku: mug.sku,
          variantTitle: "Default",
          quantity: 2,
        }),
      ]);
      const patched = await http("PATCH", `/api/cart/items/${mug.id}`, { quantity: 3 }, ann.token);
      expect(patched.body.items.map((x: any) => [x.variantId, x.quantity])).toEqual([[mug.id, 3]]);
    });
  });

  describe("orders", () => {
    it("should order two variants of one product and take each variant's stock only", async () => {
      const ann = await signup();
      const { product, m, l } = await shirt([5, 3]);
      const res = await order(ann.token, [
        { variantId: m.id, quantity: 2 },
        { productId: product.id, variantId: l.id, quantity: 1 },
      ]);
      expect(res.status).toBe(201);
      expect(res.body.items).toEqual([
        expect.objectContaining({
          productId: product.id,
          variantId: m.id,
          sku: m.sku,
          variantTitle: "M",
          unitPrice: 2000,
          quantity: 2,
          lineTotal: 4000,
        }),
        expect.objectContaining({
          productId: product.id,
          variantId: l.id,
          sku: l.sku,
          variantTitle: "L",
          unitPrice: 2200,
          quantity: 1,
          lineTotal: 2200,
        }),
      ]);
      expect(res.body.total).toBe(6200);
      expect((await stock(m.id)).body).toEqual({ productId: m.id, available: 3, reserved: 0 });
      expect((await stock(l.id)).body).toEqual({ productId: l.id, available: 2, reserved: 0 });
      const placed = events.find((e) => e.type === "order.placed" && (e.data as any).orderId === res.body.id);
      expect((placed!.data as any).items).toEqual(res.body.items);
    });

    it("should clear only the ordered variants' lines from the cart after a cart checkout", async () => {
      const ann = await signup();
      const { m, l } = await shirt();
      await http("POST", "/api/cart/items", { variantId: m.id, quantity: 2 }, ann.token);
      await http("POST", "/api/cart/items", { variantId: l.id, quantity: 1 }, ann.token);
      const res = await http("POST", "/api/orders", { payment: VISA, shippingAddress: ADDRESS }, ann.token);
      expect(res.status).toBe(201);
      expect(res.body.items.map((x: any) => [x.variantId, x.quantity])).toEqual([
        [m.id, 2],
        [l.id, 1],
      ]);
      expect((await http("GET", "/api/cart", undefined, ann.token)).body.items).toEqual([]);
      expect((await stock(m.id)).body).toMatchObject({ available: 3 });
    });

    it("should refuse productId alone for a product with several variants, with 422 on items[0].variantId", async () => {
      const ann = await signup();
      const { product, m } = await shirt();
      const res = await order(ann.token, [{ productId: product.id, quantity: 1 }]);
      expect([res.status, fieldsOf(res.body)]).toEqual([422, ["items[0].variantId"]]);
      expect((await stock(m.id)).body).toMatchObject({ available: 5, reserved: 0 });
    });

    it("should refuse an inactive variant with 422 naming its line", async () => {
      const ann = await signup();
      const { product, m, l } = await shirt();
      await deactivate(product.id, l.id);
      const res = await order(ann.token, [
        { variantId: m.id, quantity: 1 },
        { variantId: l.id, quantity: 1 },
      ]);
      expect([res.status, fieldsOf(res.body)]).toEqual([422, ["items[1].variantId"]]);
    });

    it("should refuse a removed variant with 422 naming its line", async () => {
      const ann = await signup();
      const { product, l } = await shirt();
      await broker.call("products.removeVariant", { id: product.id, variantId: l.id }, ADMIN_META);
      const res = await order(ann.token, [{ productId: product.id, variantId: l.id, quantity: 1 }]);
      expect([res.status, fieldsOf(res.body)]).toEqual([422, ["items[0].variantId"]]);
    });

    it("should answer 409 listing the short variant and its product, with nothing taken", async () => {
      const ann = await signup();
      const { product, m, l } = await shirt([5, 1]);
      const res = await order(ann.token, [
        { variantId: m.id, quantity: 1 },
        { variantId: l.id, quantity: 2 },
      ]);
      expect(res.status).toBe(409);
      expect(res.body.data).toEqual({ productIds: [product.id], variantIds: [l.id] });
      expect((await stock(m.id)).body).toMatchObject({ available: 5, reserved: 0 });
    });

    it("should give a cancelled order's units back to its variant", async () => {
      const ann = await signup();
      const { m, l } = await shirt([5, 3]);
      const placed = await order(ann.token, [{ variantId: l.id, quantity: 2 }]);
      const cancel = await http("POST", `/api/orders/${placed.body.id}/cancel`, undefined, ann.token);
      expect(cancel.status).toBe(200);
      expect((await stock(l.id)).body).toMatchObject({ available: 3, reserved: 0 });
      expect((await stock(m.id)).body).toMatchObject({ available: 5, reserved: 0 });
    });

    it("should emit inventory.low naming the variant and its product", async () => {
      const ann = await signup();
      const { product, l } = await shirt([5, 3]);
      await waitFor("the variant's stock to learn its product", async () => {
        const doc = await (broker.getLocalService("inventory") as any).adapter.findById(l.id);
        return doc?.ownerId === product.id;
      });
      expect((await order(ann.token, [{ variantId: l.id, quantity: 2 }])).status).toBe(201);
      await waitFor("inventory.low", async () =>
        events.some((e) => e.type === "inventory.low" && (e.data as any).variantId === l.id),
      );
      const low = events.find((e) => e.type === "inventory.low" && (e.data as any).variantId === l.id)!;
      expect(low.data).toEqual({ productId: product.id, variantId: l.id, available: 1, threshold: 2 });
    });
  });

  describe("stock per variant", () => {
    it("should answer a product's sums and each variant's level for its id", async () => {
      const { product, m, l } = await shirt([5, 3]);
      const res = await stock(product.id);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        productId: product.id,
        available: 8,
        reserved: 0,
        variants: [
          { variantId: m.id, sku: m.sku, available: 5, reserved: 0 },
          { variantId: l.id, sku: l.sku, available: 3, reserved: 0 },
        ],
      });
    });

    it("should set a variant's stock by its id", async () => {
      const { m, l } = await shirt([5, 3]);
      const res = await http("PUT", `/api/inventory/${l.id}`, { available: 9 }, adminToken);
      expect(res.status).toBe(200);
      expect((await stock(l.id)).body).toMatchObject({ available: 9 });
      expect((await stock(m.id)).body).toMatchObject({ available: 5 });
    });

    it("should refuse setting the stock of a product with several variants with 422", async () => {
      const { product } = await shirt();
      const res = await http("PUT", `/api/inventory/${product.id}`, { available: 9 }, adminToken);
      expect(res.status).toBe(422);
    });

    it("should still answer and set a simple product's stock by its id, in the shape as before", async () => {
      const mug = await simple(500, 4);
      expect((await http("PUT", `/api/inventory/${mug.id}`, { available: 6 }, adminToken)).status).toBe(200);
      expect((await stock(mug.id)).body).toEqual({ productId: mug.id, available: 6, reserved: 0 });
    });
  });
});
