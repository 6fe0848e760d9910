import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { ServiceBroker } from "moleculer";
import type { EventEnvelope } from "../../contracts";
import type { startNode } from "../../bin/node";
import { newOrder } from "../../domain/checkout";
import { keyRecordId, newKeyRecord, bodyHash } from "../../domain/idempotency";
import { signWebhook } from "../../domain/payments";
import { freePort } from "../support/cluster";
import { ADDRESS, DECLINED, VISA, sleep } from "../support/fixtures";
import { jsonClient } from "../support/http";

/** API.md "Regions, tax, shipping and promotions": a cart or order of the default region. */
const DEFAULT_REGION_TOTALS = {
  regionId: null,
  promotionCode: null,
  discountTotal: 0,
  shippingOption: null,
  shippingTotal: 0,
  taxRate: 0,
  taxInclusive: false,
  taxTotal: 0,
};
const ADMIN = { email: "checkout-admin@shop.test", password: "checkout-admin-pw" };
const SECRET = "integration-webhook-secret";

describe("checkout over HTTP: carts, orders and payments with every service in one broker on NeDB", () => {
  let broker: ServiceBroker;
  let base: string;
  let adminToken: string;
  const events: EventEnvelope[] = [];
  let seq = 0;

  const http = jsonClient(() => base);
  const signup = async () => {
    const res = await http("POST", "/api/user/signup", {
      email: `buyer${++seq}-${Date.now()}@shop.test`,
      password: "buyer-password",
      name: "Buyer",
    });
    expect(res.status).toBe(201);
    return { token: res.body.accessToken as string, id: res.body.user.id as string };
  };
  const product = async (price: number, stock: number, extra: Record<string, unknown> = {}) =>
    (await broker.call(
      "products.create",
      { name: `Product ${++seq}`, price, stock, ...extra },
      { meta: { user: { id: "admin", role: "admin" } } },
    )) as any;
  const level = (productId: string) => broker.call("inventory.get", { productId }) as Promise<any>;
  const payment = (orderId: string) => broker.call("payments.get", { orderId }) as Promise<any>;
  const place = (token: string, body: Record<string, unknown>, key?: string) =>
    http("POST", "/api/orders", body, token, key ? { "idempotency-key": key } : {});
  const orderBody = (productId: string, quantity = 1, pay = VISA) => ({
    items: [{ productId, quantity }],
    payment: pay,
    shippingAddress: ADDRESS,
  });
  const orders = () => broker.getLocalService("orders") as any;
  /** The fields a simple product's order line names it by: its one variant has its id. */
  const lineOf = (p: any) => ({
    productId: p.id,
    variantId: p.id,
    sku: p.sku,
    name: p.name,
    variantTitle: "Default",
  });
  const eventsOf = (key: string) => events.filter((e) => e.key === key);

  beforeAll(async () => {
    const saved = { ...process.env };
    Object.assign(process.env, {
      PORT: String(await freePort()),
      DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), "checkout-int-")),
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
      RATE_LIMIT_PER_MINUTE: "1000000",
      AUTH_RATE_LIMIT_PER_MINUTE: "100000",
      PAYMENT_WEBHOOK_SECRET: SECRET,
      CHECKOUT_LEASE_SECONDS: "2",
    });
    let starting!: ReturnType<typeof startNode>;
    jest.isolateModules(() => (starting = require("../../bin/node").startNode()));
    broker = await starting;
    base = `http://127.0.0.1:${process.env.PORT}`;
    process.env = saved;
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
    it("should answer 401 on every cart and order route without a token", async () => {
      const routes: Array<[string, string, unknown?]> = [
        ["GET", "/api/cart"],
        ["POST", "/api/cart/items", { productId: "x", quantity: 1 }],
        ["PATCH", "/api/cart/items/x", { quantity: 1 }],
        ["DELETE", "/api/cart/items/x"],
        ["DELETE", "/api/cart"],
        ["POST", "/api/orders", orderBody("x")],
        ["GET", "/api/orders"],
        ["GET", "/api/orders/x"],
        ["POST", "/api/orders/x/cancel"],
        ["PATCH", "/api/orders/x/status", { status: "shipped" }],
      ];
      for (const [method, url, body] of routes)
        expect([method, url, (await http(method, url, body)).status]).toEqual([method, url, 401]);
    });

    it("should keep one cart per user, adding to an existing line, in the API.md shape", async () => {
      const ann = await signup();
      const bob = await signup();
      const p = await product(1999, 10);
      expect(await http("GET", "/api/cart", undefined, ann.token)).toMatchObject({
        status: 200,
        body: { items: [], subtotal: 0, currency: "USD", updatedAt: expect.any(String) },
      });
      expect(
        (await http("POST", "/api/cart/items", { productId: p.id, quantity: 2 }, ann.token)).status,
      ).toBe(200);
      const res = await http("POST", "/api/cart/items", { productId: p.id, quantity: 3 }, ann.token);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        id: ann.id,
        items: [
          {
            productId: p.id,
            variantId: p.id,
            sku: p.sku,
            name: p.name,
            variantTitle: "Default",
            unitPrice: 1999,
            quantity: 5,
            lineTotal: 9995,
            unavailable: false,
          },
        ],
        subtotal: 9995,
        currency: "USD",
        updatedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        ...DEFAULT_REGION_TOTALS,
        total: 9995,
      });
      expect((await http("GET", "/api/cart", undefined, bob.token)).body.items).toEqual([]);

      const patched = await http("PATCH", `/api/cart/items/${p.id}`, { quantity: 7 }, ann.token);
      expect(patched.body.items[0]).toMatchObject({ quantity: 7, lineTotal: 13993 });
      const removed = await http("PATCH", `/api/cart/items/${p.id}`, { quantity: 0 }, ann.token);
      expect(removed).toMatchObject({ status: 200, body: { items: [], subtotal: 0 } });
      await http("POST", "/api/cart/items", { productId: p.id, quantity: 1 }, ann.token);
      expect((await http("DELETE", `/api/cart/items/${p.id}`, undefined, ann.token)).body.items).toEqual([]);
      await http("POST", "/api/cart/items", { productId: p.id, quantity: 1 }, ann.token);
      const cleared = await http("DELETE", "/api/cart", undefined, ann.token);
      expect(cleared.status).toBe(204);
      expect((await http("GET", "/api/cart", undefined, ann.token)).body.items).toEqual([]);
    });

    it("should answer 404 for an unknown product or a line not in the cart, and 422 for bad quantities or a 51st line", async () => {
      const ann = await signup();
      const p = await product(100, 5);
      const add = (body: unknown) => http("POST", "/api/cart/items", body, ann.token);
      expect((await add({ productId: "no-such-product", quantity: 1 })).status).toBe(404);
      expect((await http("PATCH", `/api/cart/items/${p.id}`, { quantity: 1 }, ann.token)).status).toBe(404);
      expect((await http("DELETE", `/api/cart/items/${p.id}`, undefined, ann.token)).status).toBe(404);
      for (const quantity of [0, 101, 1.5, "2", -1]) {
        const res = await add({ productId: p.id, quantity });
        expect(res.status).toBe(422);
        expect(res.body.data.map((d: any) => d.field)).toContain("quantity");
      }
      const op = await add({ productId: { $ne: null }, quantity: 1 });
      expect(op.status).toBe(422);
      expect((await add({ productId: p.id, quantity: 1, unitPrice: 1 })).status).toBe(422);
      expect((await add({ productId: p.id, quantity: 100 })).status).toBe(200);
      expect((await add({ productId: p.id, quantity: 1 })).status).toBe(422);

      const many = await Promise.all(Array.from({ length: 50 }, () => product(10, 1)));
      const bob = await signup();
      for (const m of many)
        expect(
          (await http("POST", "/api/cart/items", { productId: m.id, quantity: 1 }, bob.token)).status,
        ).toBe(200);
      const extra = await http("POST", "/api/cart/items", { productId: p.id, quantity: 1 }, bob.token);
      expect(extra.status).toBe(422);
      expect((await http("GET", "/api/cart", undefined, bob.token)).body.items).toHaveLength(50);
    });

    it("should take an order's lines out of the cart once, however often its checkout step runs", async () => {
      const ann = await signup();
      const p = await product(100, 10);
      await http("POST", "/api/cart/items", { productId: p.id, quantity: 5 }, ann.token);
      const step = {
        userId: ann.id,
        orderId: `order-once-${seq}`,
        lines: [{ productId: p.id, quantity: 2 }],
      };
      await broker.call("carts.removeOrdered", step);
      await broker.call("carts.removeOrdered", step);
      const cart = (await http("GET", "/api/cart", undefined, ann.token)).body;
      expect(cart.items).toEqual([expect.objectContaining({ productId: p.id, quantity: 3 })]);
    });

    it("should reflect a price change and a deleted product the next time the cart is read", async () => {
      const ann = await signup();
      const kept = await product(1000, 5);
      const gone = await product(500, 5);
      await http("POST", "/api/cart/items", { productId: kept.id, quantity: 2 }, ann.token);
      await http("POST", "/api/cart/items", { productId: gone.id, quantity: 1 }, ann.token);
      expect((await http("PATCH", `/api/products/${kept.id}`, { price: 1250 }, adminToken)).status).toBe(200);
      expect((await http("DELETE", `/api/products/${gone.id}`, undefined, adminToken)).status).toBe(204);
      const cart = await http("GET", "/api/cart", undefined, ann.token);
      expect(cart.body).toMatchObject({
        items: [{ productId: kept.id, unitPrice: 1250, quantity: 2, lineTotal: 2500 }],
        subtotal: 2500,
      });
      expect(cart.body.items).toHaveLength(1);
    });
  });

  describe("placing orders", () => {
    it("should place an order with server-side prices: 201 confirmed, stock sold, nothing left reserved", async () => {
      const ann = await signup();
      const a = await product(1999, 10);
      const b = await product(500, 3);
      const res = await place(ann.token, {
        items: [
          { productId: a.id, quantity: 2 },
          { productId: b.id, quantity: 3 },
        ],
        payment: VISA,
        shippingAddress: { ...ADDRESS, line2: "Apt 4" },
      });
      expect(res.status).toBe(201);
      expect(res.headers.get("location")).toBe(`/api/orders/${res.body.id}`);
      expect(res.body).toEqual({
        id: expect.any(String),
        userId: ann.id,
        items: [
          { ...lineOf(a), unitPrice: 1999, quantity: 2, lineTotal: 3998 },
          { ...lineOf(b), unitPrice: 500, quantity: 3, lineTotal: 1500 },
        ],
        subtotal: 5498,
        ...DEFAULT_REGION_TOTALS,
        total: 5498,
        currency: "USD",
        status: "confirmed",
        payment: { id: expect.stringMatching(/^pay_/), status: "succeeded" },
        shippingAddress: { ...ADDRESS, line2: "Apt 4" },
        history: [
          { status: "pending", at: expect.any(String) },
          { status: "confirmed", at: expect.any(String) },
        ],
        // API.md "Refunds and returns": every order gains them
        refundedTotal: 0,
        returns: [],
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
      });
      // Read right after the 201: stock, payment and order agree with it.
      expect(await level(a.id)).toEqual({ productId: a.id, available: 8, reserved: 0 });
      expect(await level(b.id)).toEqual({ productId: b.id, available: 0, reserved: 0 });
      expect(await payment(res.body.id)).toMatchObject({
        id: res.body.payment.id,
        status: "succeeded",
        amount: 5498,
      });
      expect(await http("GET", `/api/orders/${res.body.id}`, undefined, ann.token)).toMatchObject({
        status: 200,
        body: res.body,
      });
    });

    it("should order the cart's lines when no items are given, and empty the cart before the 201", async () => {
      const ann = await signup();
      const p = await product(750, 4);
      await http("POST", "/api/cart/items", { productId: p.id, quantity: 3 }, ann.token);
      const res = await place(ann.token, { payment: VISA, shippingAddress: ADDRESS });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({
        total: 2250,
        items: [{ productId: p.id, quantity: 3, unitPrice: 750 }],
      });
      expect((await http("GET", "/api/cart", undefined, ann.token)).body.items).toEqual([]);
      expect(await level(p.id)).toMatchObject({ available: 1, reserved: 0 });
      const empty = await place(ann.token, { payment: VISA, shippingAddress: ADDRESS });
      expect(empty.status).toBe(422);
    });

    it("should take only the ordered quantities out of the cart, keeping what was added while the order was placed", async () => {
      const ann = await signup();
      const lamp = await product(750, 10);
      const desk = await product(5000, 10);
      await http("POST", "/api/cart/items", { productId: lamp.id, quantity: 2 }, ann.token);
      // After the order is priced, before its cart step: the customer adds to the cart during the charge.
      const payments = broker.getLocalService("payments") as any;
      const capture = payments.capture;
      payments.capture = async (doc: unknown) => {
        payments.capture = capture;
        await http("POST", "/api/cart/items", { productId: lamp.id, quantity: 1 }, ann.token);
        await http("POST", "/api/cart/items", { productId: desk.id, quantity: 1 }, ann.token);
        return capture(doc);
      };
      const res = await place(ann.token, { payment: VISA, shippingAddress: ADDRESS });
      expect(res.status).toBe(201);
      expect(res.body.items).toEqual([expect.objectContaining({ productId: lamp.id, quantity: 2 })]);
      const cart = (await http("GET", "/api/cart", undefined, ann.token)).body;
      expect(cart.items.map((l: any) => [l.productId, l.quantity])).toEqual([
        [lamp.id, 1],
        [desk.id, 1],
      ]);
    });

    it("should answer 422 for unitPrice, total or status in the body, an unknown card token, and bad fields", async () => {
      const ann = await signup();
      const p = await product(100, 5);
      const good = orderBody(p.id);
      const cases: Array<[Record<string, unknown>, string]> = [
        [{ ...good, total: 1 }, "total"],
        [{ ...good, status: "confirmed" }, "status"],
        [{ ...good, items: [{ productId: p.id, quantity: 1, unitPrice: 1 }] }, "items[0].unitPrice"],
        [{ ...good, payment: { method: "card", token: "tok_mastercard" } }, "payment.token"],
        [{ ...good, payment: { method: "cash", token: "tok_visa" } }, "payment.method"],
        [{ ...good, items: [{ productId: p.id, quantity: 0 }] }, "items[0].quantity"],
        [{ ...good, items: [] }, "items"],
        [{ ...good, shippingAddress: { ...ADDRESS, city: undefined } }, "shippingAddress.city"],
        [{ ...good, items: [{ productId: "nope", quantity: 1 }] }, "items[0].productId"],
        [{ items: good.items, shippingAddress: ADDRESS }, "payment"],
      ];
      for (const [body, field] of cases) {
        const res = await place(ann.token, body);
        expect([field, res.status]).toEqual([field, 422]);
        expect(res.body).toMatchObject({ code: 422, type: "VALIDATION_ERROR" });
        expect(res.body.data.map((d: any) => d.field)).toContain(field);
      }
      expect(await level(p.id)).toEqual({ productId: p.id, available: 5, reserved: 0 });
      expect((await http("GET", "/api/orders", undefined, ann.token)).body.total).toBe(0);
    });

    it("should answer 409 naming every short product, with nothing reserved, nothing charged and no order", async () => {
      const ann = await signup();
      const ok = await product(100, 5);
      const short1 = await product(100, 1);
      const short2 = await product(100, 0);
      const res = await place(ann.token, {
        items: [
          { productId: ok.id, quantity: 2 },
          { productId: short1.id, quantity: 2 },
          { productId: short2.id, quantity: 1 },
        ],
        payment: VISA,
        shippingAddress: ADDRESS,
      });
      expect(res.status).toBe(409);
      expect(res.body).toMatchObject({ code: 409, type: "INSUFFICIENT_STOCK" });
      expect(res.body.data.productIds.sort()).toEqual([short1.id, short2.id].sort());
      for (const [p, n] of [
        [ok, 5],
        [short1, 1],
        [short2, 0],
      ] as const)
        expect(await level(p.id)).toEqual({ productId: p.id, available: n, reserved: 0 });
      expect((await http("GET", "/api/orders", undefined, ann.token)).body.total).toBe(0);
      expect(events.filter((e) => e.type === "order.placed" && (e.data as any).userId === ann.id)).toEqual(
        [],
      );
    });

    it("should answer 402 for a declined card with the payment_failed order, its stock released before the 402", async () => {
      const ann = await signup();
      const p = await product(1200, 4);
      const res = await place(ann.token, orderBody(p.id, 3, DECLINED));
      expect(res.status).toBe(402);
      expect(res.body).toMatchObject({ code: 402, type: "PAYMENT_DECLINED" });
      const order = res.body.data.order;
      expect(order).toMatchObject({
        status: "payment_failed",
        total: 3600,
        payment: { id: expect.stringMatching(/^pay_/), status: "failed" },
      });
      expect(order.history.map((h: any) => h.status)).toEqual(["pending", "payment_failed"]);
      expect(await level(p.id)).toEqual({ productId: p.id, available: 4, reserved: 0 });
      expect(await payment(order.id)).toMatchObject({ status: "failed", reason: "card_declined" });
      expect((await http("GET", `/api/orders/${order.id}`, undefined, ann.token)).body.status).toBe(
        "payment_failed",
      );
    });
  });

  describe("Idempotency-Key", () => {
    it("should return the first response for a repeated key and body, and 422 for another body with it", async () => {
      const ann = await signup();
      const p = await product(300, 10);
      const first = await place(ann.token, orderBody(p.id, 2), "key-1");
      expect(first.status).toBe(201);
      const again = await place(ann.token, orderBody(p.id, 2), "key-1");
      expect(again).toMatchObject({ status: 201, body: first.body });
      expect(again.headers.get("location")).toBe(`/api/orders/${first.body.id}`);
      const other = await place(ann.token, orderBody(p.id, 3), "key-1");
      expect(other.status).toBe(422);
      expect(other.body.data.map((d: any) => d.field)).toEqual(["Idempotency-Key"]);
      expect((await http("GET", "/api/orders", undefined, ann.token)).body.total).toBe(1);
      expect(await level(p.id)).toMatchObject({ available: 8, reserved: 0 });

      const declined = await place(ann.token, orderBody(p.id, 1, DECLINED), "key-2");
      expect(declined.status).toBe(402);
      expect(await place(ann.token, orderBody(p.id, 1, DECLINED), "key-2")).toMatchObject({
        status: 402,
        body: { data: { order: { id: declined.body.data.order.id } } },
      });
      expect((await place(ann.token, orderBody(p.id), "k".repeat(256))).status).toBe(422);
    });

    it("should make exactly one order and one payment of 10 concurrent requests with one key", async () => {
      const ann = await signup();
      const p = await product(300, 100);
      const results = await Promise.all(
        Array.from({ length: 10 }, () => place(ann.token, orderBody(p.id, 1), "same-key")),
      );
      const created = results.filter((r) => r.status === 201);
      expect(results.filter((r) => r.status !== 201 && r.status !== 409)).toEqual([]);
      expect(created.length).toBeGreaterThan(0);
      expect(new Set(created.map((r) => r.body.id)).size).toBe(1);
      expect((await http("GET", "/api/orders", undefined, ann.token)).body.total).toBe(1);
      expect(await level(p.id)).toEqual({ productId: p.id, available: 99, reserved: 0 });
      const payments = await (broker.getLocalService("payments") as any).adapter.find({
        query: { userId: ann.id },
      });
      expect(payments).toHaveLength(1);
    });

    it("should scope keys per user, and treat a key older than 24 hours as new", async () => {
      const ann = await signup();
      const bob = await signup();
      const p = await product(300, 10);
      const a = await place(ann.token, orderBody(p.id), "shared-key");
      const b = await place(bob.token, orderBody(p.id), "shared-key");
      expect([a.status, b.status]).toEqual([201, 201]);
      expect(a.body.id).not.toBe(b.body.id);
      await orders().adapter.updateById(keyRecordId(ann.id, "shared-key"), {
        $set: { expiresAtMs: Date.now() - 1 },
      });
      const later = await place(ann.token, orderBody(p.id, 2), "shared-key");
      expect(later.status).toBe(201);
      expect(later.body.id).not.toBe(a.body.id);
    });

    it("should take over a key whose first request stopped, finishing that request's order", async () => {
      const ann = await signup();
      const p = await product(400, 5);
      const body = orderBody(p.id, 2);
      const orderId = `stalled-${Date.now()}`;
      const rec = newKeyRecord(
        keyRecordId(ann.id, "crashed"),
        ann.id,
        bodyHash(body),
        orderId,
        Date.now(),
        0,
      );
      await orders().adapter.insert({ ...rec, claimUntil: 0 });
      const res = await place(ann.token, body, "crashed");
      expect(res.status).toBe(201);
      expect(res.body.id).toBe(orderId);
      expect(await level(p.id)).toEqual({ productId: p.id, available: 3, reserved: 0 });
    });
  });

  describe("after the order", () => {
    it("should cancel a confirmed order: refunded and stock returned before the 200, order.cancelled emitted; again 409", async () => {
      const ann = await signup();
      const p = await product(900, 5);
      const placed = await place(ann.token, orderBody(p.id, 2));
      expect(await level(p.id)).toMatchObject({ available: 3, reserved: 0 });
      const res = await http("POST", `/api/orders/${placed.body.id}/cancel`, undefined, ann.token);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        id: placed.body.id,
        status: "cancelled",
        payment: { status: "refunded" },
      });
      expect(res.body.history.map((h: any) => h.status)).toEqual(["pending", "confirmed", "cancelled"]);
      expect(await level(p.id)).toEqual({ productId: p.id, available: 5, reserved: 0 });
      expect(await payment(placed.body.id)).toMatchObject({ status: "refunded" });
      const again = await http("POST", `/api/orders/${placed.body.id}/cancel`, undefined, ann.token);
      expect(again).toMatchObject({ status: 409, body: { type: "ILLEGAL_TRANSITION" } });
      await waitFor(() => eventsOf(placed.body.id).some((e) => e.type === "order.cancelled"));
      expect(eventsOf(placed.body.id).find((e) => e.type === "order.cancelled")!.data).toEqual({
        orderId: placed.body.id,
        userId: ann.id,
        reason: "cancelled_by_customer",
      });
    });

    it("should let an admin ship and deliver, refuse other transitions with 409 and customers with 403", async () => {
      const ann = await signup();
      const p = await product(100, 5);
      const { body: order } = await place(ann.token, orderBody(p.id));
      const status = (s: unknown, token = adminToken) =>
        http("PATCH", `/api/orders/${order.id}/status`, { status: s }, token);
      expect((await status("shipped", ann.token)).status).toBe(403);
      expect((await status("delivered")).status).toBe(409);
      expect((await status("cancelled")).status).toBe(422);
      expect((await status("shipped")).body.status).toBe("shipped");
      expect((await http("POST", `/api/orders/${order.id}/cancel`, undefined, ann.token)).status).toBe(409);
      expect((await status("shipped")).status).toBe(409);
      const delivered = await status("delivered");
      expect(delivered.body.history.map((h: any) => h.status)).toEqual([
        "pending",
        "confirmed",
        "shipped",
        "delivered",
      ]);
      expect((await http("PATCH", "/api/orders/nope/status", { status: "shipped" }, adminToken)).status).toBe(
        404,
      );
      const { body: failed } = await place(ann.token, orderBody(p.id, 1, DECLINED));
      expect(
        (await http("POST", `/api/orders/${failed.data.order.id}/cancel`, undefined, ann.token)).status,
      ).toBe(409);
    });

    it("should hide another user's order behind 404, and let an admin see all or filter by userId", async () => {
      const ann = await signup();
      const bob = await signup();
      const p = await product(100, 10);
      const a1 = (await place(ann.token, orderBody(p.id))).body;
      const a2 = (await place(ann.token, orderBody(p.id))).body;
      const b1 = (await place(bob.token, orderBody(p.id))).body;
      expect((await http("GET", `/api/orders/${a1.id}`, undefined, bob.token)).status).toBe(404);
      expect((await http("POST", `/api/orders/${a1.id}/cancel`, undefined, bob.token)).status).toBe(404);
      expect((await http("GET", `/api/orders/${a1.id}`, undefined, ann.token)).status).toBe(200);
      const annList = await http("GET", "/api/orders?userId=" + bob.id, undefined, ann.token);
      expect(annList.body).toMatchObject({ total: 2, page: 1, pageSize: 20, totalPages: 1 });
      expect(annList.body.rows.map((o: any) => o.id)).toEqual([a2.id, a1.id]);
      const paged = await http("GET", "/api/orders?page=2&pageSize=1", undefined, ann.token);
      expect(paged.body).toMatchObject({
        total: 2,
        page: 2,
        pageSize: 1,
        totalPages: 2,
        rows: [{ id: a1.id }],
      });
      expect((await http("GET", `/api/orders/${b1.id}`, undefined, adminToken)).status).toBe(200);
      const bobs = await http("GET", `/api/orders?userId=${bob.id}`, undefined, adminToken);
      expect(bobs.body.rows.map((o: any) => o.id)).toEqual([b1.id]);
      const all = await http("GET", "/api/orders?pageSize=1000", undefined, adminToken);
      expect(all.body.pageSize).toBe(100);
      expect(all.body.total).toBeGreaterThanOrEqual(3);
    });

    it("should publish order and payment events through the outbox with the Kafka table's data, placed before paid", async () => {
      const ann = await signup();
      const p = await product(250, 5);
      const { body: order } = await place(ann.token, orderBody(p.id, 2));
      await waitFor(() => eventsOf(order.id).some((e) => e.type === "order.paid"));
      const types = eventsOf(order.id).map((e) => e.type);
      expect(types.indexOf("order.placed")).toBeLessThan(types.indexOf("order.paid"));
      const placed = eventsOf(order.id).find((e) => e.type === "order.placed")!;
      expect(placed).toMatchObject({
        version: 1,
        eventId: expect.any(String),
        occurredAt: expect.any(String),
      });
      expect(placed.data).toEqual({
        orderId: order.id,
        userId: ann.id,
        items: order.items,
        total: 500,
        currency: "USD",
        ...{ subtotal: 500, discountTotal: 0, shippingTotal: 0, taxTotal: 0 },
      });
      expect(eventsOf(order.id).find((e) => e.type === "order.paid")!.data).toEqual({
        orderId: order.id,
        userId: ann.id,
        paymentId: order.payment.id,
        total: 500,
        currency: "USD",
      });
      await waitFor(() => eventsOf(order.payment.id).some((e) => e.type === "payment.succeeded"));
      expect(eventsOf(order.payment.id).find((e) => e.type === "payment.succeeded")!.data).toEqual({
        paymentId: order.payment.id,
        orderId: order.id,
        amount: 500,
        currency: "USD",
      });

      const { body: declined } = await place(ann.token, orderBody(p.id, 1, DECLINED));
      const failedId = declined.data.order.id;
      await waitFor(() => eventsOf(failedId).some((e) => e.type === "order.payment_failed"));
      expect(eventsOf(failedId).find((e) => e.type === "order.payment_failed")!.data).toEqual({
        orderId: failedId,
        userId: ann.id,
        reason: "card_declined",
      });
      const failedPayment = declined.data.order.payment.id;
      await waitFor(() => eventsOf(failedPayment).some((e) => e.type === "payment.failed"));
      expect(eventsOf(failedPayment).find((e) => e.type === "payment.failed")!.data).toEqual({
        paymentId: failedPayment,
        orderId: failedId,
        reason: "card_declined",
      });
    });
  });

  describe("payments", () => {
    it("should answer every concurrent charge for one order with the same payment, captured once, and refund it once", async () => {
      const orderId = `direct-${Date.now()}`;
      const charge = { orderId, userId: "u-direct", amount: 4200, currency: "USD", token: "tok_visa" };
      const answers: any[] = await Promise.all(
        Array.from({ length: 10 }, () => broker.call("payments.charge", charge)),
      );
      expect(new Set(answers.map((a) => a.id)).size).toBe(1);
      expect(answers.every((a) => a.status === "succeeded" && a.amount === 4200)).toBe(true);
      const paymentId = answers[0].id;
      await waitFor(() => eventsOf(paymentId).some((e) => e.type === "payment.succeeded"));
      const refunds: any[] = await Promise.all(
        [1, 2, 3].map(() => broker.call("payments.refund", { orderId })),
      );
      expect(refunds.map((r) => r.status)).toEqual(["refunded", "refunded", "refunded"]);
      expect((await broker.call("payments.charge", charge)) as any).toMatchObject({
        id: paymentId,
        status: "refunded",
      });
      await waitFor(() => eventsOf(paymentId).some((e) => e.type === "payment.refunded"));
      await sleep(200);
      const types = eventsOf(paymentId).map((e) => e.type);
      expect(types.filter((t) => t === "payment.succeeded")).toHaveLength(1);
      expect(types.filter((t) => t === "payment.refunded")).toHaveLength(1);
    });
  });

  describe("the payment webhook", () => {
    const webhook = (raw: string, signature?: string) =>
      http(
        "POST",
        "/api/payments/webhook",
        raw,
        undefined,
        signature ? { "payment-signature": signature } : {},
      );

    it("should refuse a bad signature with 400 and change nothing, and apply one webhook sent three times at once once", async () => {
      const ann = await signup();
      const p = await product(100, 5);
      const { body: order } = await place(ann.token, orderBody(p.id));
      const { chargeId } = await payment(order.id);
      const raw = JSON.stringify({ id: "evt_refund_1", type: "charge.refunded", data: { chargeId } });
      for (const sig of [
        undefined,
        "0".repeat(64),
        signWebhook("some-other-secret-value", raw),
        signWebhook(SECRET, raw + " "),
      ])
        expect((await webhook(raw, sig)).status).toBe(400);
      expect(await payment(order.id)).toMatchObject({ status: "succeeded", webhooks: [] });

      const sig = signWebhook(SECRET, raw);
      const results = await Promise.all([webhook(raw, sig), webhook(raw, sig), webhook(raw, sig)]);
      expect(results.map((r) => r.status)).toEqual([200, 200, 200]);
      expect(results.filter((r) => r.body.applied)).toHaveLength(1);
      const after = await payment(order.id);
      expect(after).toMatchObject({
        status: "refunded",
        webhooks: [{ id: "evt_refund_1", type: "charge.refunded" }],
      });
      await waitFor(() => eventsOf(after.id).some((e) => e.type === "payment.refunded"));
      await sleep(200);
      expect(eventsOf(after.id).filter((e) => e.type === "payment.refunded")).toHaveLength(1);

      const unknown = JSON.stringify({ id: "evt_2", type: "charge.refunded", data: { chargeId: "ch_nope" } });
      expect((await webhook(unknown, signWebhook(SECRET, unknown))).status).toBe(404);
      const bad = JSON.stringify({ id: "evt_3", type: "charge.exploded", data: { chargeId } });
      expect((await webhook(bad, signWebhook(SECRET, bad))).status).toBe(422);
    });
  });

  describe("recovery", () => {
    const stalled = async (
      userId: string,
      productId: string,
      quantity: number,
      step: "reserve" | "charge",
    ) => {
      const p = (await broker.call("products.get", { id: productId })) as any;
      const d = newOrder({
        id: `recover-${++seq}-${Date.now()}`,
        userId,
        priced: {
          items: [
            {
              productId,
              variantId: productId,
              sku: p.sku,
              name: p.name,
              variantTitle: "Default",
              unitPrice: p.price,
              quantity,
              lineTotal: p.price * quantity,
            },
          ],
          subtotal: p.price * quantity,
          currency: "USD",
        },
        token: "tok_visa",
        shippingAddress: ADDRESS,
        fromCart: false,
        nowMs: Date.now(),
        leaseMs: 0,
        leaseOwner: "crashed-driver",
      });
      if (step === "charge")
        await broker.call("inventory.reserve", { orderId: d._id, lines: [{ productId, quantity }] });
      await orders().adapter.insert({ ...d, step, leaseUntil: Date.now() - 1 });
      return d._id;
    };

    it("should complete an order a crashed driver left after reserving, once its lease ran out", async () => {
      const ann = await signup();
      const p = await product(100, 5);
      const id = await stalled(ann.id, p.id, 2, "charge");
      expect(await level(p.id)).toMatchObject({ available: 3, reserved: 2 });
      await orders().recover();
      const order = await http("GET", `/api/orders/${id}`, undefined, ann.token);
      expect(order.body).toMatchObject({ status: "confirmed", payment: { status: "succeeded" } });
      expect(await level(p.id)).toEqual({ productId: p.id, available: 3, reserved: 0 });
    });

    it("should compensate, never charge, a stalled order whose reservation is gone", async () => {
      const ann = await signup();
      const p = await product(100, 5);
      const id = await stalled(ann.id, p.id, 2, "charge");
      await broker.call("inventory.release", { orderId: id });
      await orders().recover();
      const order = (await http("GET", `/api/orders/${id}`, undefined, ann.token)).body;
      expect(order).toMatchObject({ status: "payment_failed", payment: { status: "voided" } });
      expect(await level(p.id)).toEqual({ productId: p.id, available: 5, reserved: 0 });
      const late = (await broker.call("payments.charge", {
        orderId: id,
        userId: ann.id,
        amount: 200,
        currency: "USD",
        token: "tok_visa",
      })) as any;
      expect(late.status).toBe("voided");
    });

    it("should find stalled orders by itself, on its periodic sweep", async () => {
      const ann = await signup();
      const p = await product(100, 5);
      const id = await stalled(ann.id, p.id, 1, "reserve");
      await waitFor(
        async () =>
          (await http("GET", `/api/orders/${id}`, undefined, ann.token)).body.status === "confirmed",
      );
      expect(await level(p.id)).toEqual({ productId: p.id, available: 4, reserved: 0 });
    });
  });
});

async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await sleep(50);
  }
}
