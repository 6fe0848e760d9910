/**
 * Regions, tax, shipping options and promotions over HTTP (API.md "Regions, tax, shipping and
 * promotions"), every service in one broker on NeDB: admin CRUD and its 4xx, carts priced in a
 * region, checkout totals to the cent, the charged amount, order_placed's breakdown, and
 * promotion uses given back by failed and cancelled orders.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { ServiceBroker } from "moleculer";
import type { EventEnvelope } from "../../contracts";
import { bootNode } from "../support/node";
import { ADDRESS, DECLINED, VISA } from "../support/fixtures";
import { jsonClient } from "../support/http";

const ADMIN = { email: "pricing-admin@shop.test", password: "pricing-admin-pw" };
const DE = { ...ADDRESS, country: "DE" };

describe("pricing over HTTP: regions, shipping options and promotions with every service in one broker", () => {
  let broker: ServiceBroker;
  let base: string;
  let admin: string;
  let seq = 0;
  const events: EventEnvelope[] = [];
  const http = jsonClient(() => base);
  const asAdmin = (method: string, p: string, body?: unknown) => http(method, p, body, admin);

  const signup = async () => {
    const res = await http("POST", "/api/user/signup", {
      email: `pricing${++seq}-${Date.now()}@shop.test`,
      password: "buyer-password",
      name: "Buyer",
    });
    expect(res.status).toBe(201);
    return { token: res.body.accessToken as string, id: res.body.user.id as string };
  };
  const product = async (price: number, stock: number, prices?: Record<string, number>) => {
    const res = await asAdmin("POST", "/api/products", {
      name: `Priced ${++seq}`,
      price,
      stock,
      ...(prices ? { prices } : {}),
    });
    expect(res.status).toBe(201);
    return res.body;
  };
  const level = async (id: string) => (await http("GET", `/api/inventory/${id}`)).body;
  const promotion = async (body: Record<string, unknown>) => {
    const res = await asAdmin("POST", "/api/promotions", body);
    expect(res.status).toBe(201);
    return res.body;
  };
  const usageOf = async (id: string) => {
    const res = await asAdmin("GET", "/api/promotions?pageSize=100");
    return res.body.rows.find((p: any) => p.id === id).usageCount;
  };
  const order = (token: string, body: Record<string, unknown>) =>
    http("POST", "/api/orders", { payment: VISA, shippingAddress: DE, ...body }, token);
  const ordersOf = async (token: string) => (await http("GET", "/api/orders", undefined, token)).body.total;

  let eu: any;
  let standard: any;
  let express: any;
  let uk: any;

  beforeAll(async () => {
    ({ broker, base } = await bootNode({
      DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), "pricing-int-")),
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
      RATE_LIMIT_PER_MINUTE: "1000000",
      AUTH_RATE_LIMIT_PER_MINUTE: "100000",
      CHECKOUT_LEASE_SECONDS: "2",
    }));
    const send = (broker as any).sendToChannel.bind(broker);
    (broker as any).sendToChannel = (channel: string, payload: any, opts: unknown) => {
      events.push(payload);
      return send(channel, payload, opts);
    };
    admin = (await http("POST", "/api/user/login", ADMIN)).body.accessToken;
    eu = (
      await asAdmin("POST", "/api/regions", {
        name: "EU",
        currency: "EUR",
        countries: ["DE", "FR"],
        taxRate: 2000,
      })
    ).body;
    uk = (
      await asAdmin("POST", "/api/regions", {
        name: "UK",
        currency: "GBP",
        countries: ["GB"],
        taxRate: 2000,
        taxInclusive: true,
      })
    ).body;
    standard = (
      await asAdmin("POST", "/api/shipping-options", {
        name: "Standard",
        regionId: eu.id,
        amount: 500,
        freeAbove: 5000,
      })
    ).body;
    express = (
      await asAdmin("POST", "/api/shipping-options", { name: "Express", regionId: eu.id, amount: 1500 })
    ).body;
  }, 120_000);
  afterAll(() => broker?.stop());

  describe("admin routes", () => {
    it("should create regions and options and list them publicly", async () => {
      expect(eu).toMatchObject({
        id: expect.any(String),
        currency: "EUR",
        taxRate: 2000,
        taxInclusive: false,
      });
      const regions = await http("GET", "/api/regions");
      expect(regions.body.rows.map((r: any) => r.name)).toEqual(["EU", "UK"]);
      const options = await http("GET", `/api/shipping-options?regionId=${eu.id}`);
      expect(options.body.rows.map((o: any) => o.name)).toEqual(["Standard", "Express"]);
      expect((await http("GET", `/api/shipping-options?regionId=${uk.id}`)).body.rows).toEqual([]);
    });

    it("should show a write in the next public read (the cached list is cleared)", async () => {
      expect((await http("GET", "/api/regions")).body.rows).toHaveLength(2);
      const ch = await asAdmin("POST", "/api/regions", {
        name: "CH",
        currency: "CHF",
        countries: ["CH"],
        taxRate: 810,
      });
      expect((await http("GET", "/api/regions")).body.rows.map((r: any) => r.name)).toContain("CH");
      await asAdmin("PATCH", `/api/regions/${ch.body.id}`, { name: "Switzerland" });
      expect((await http("GET", "/api/regions")).body.rows.map((r: any) => r.name)).toContain("Switzerland");
      expect((await asAdmin("DELETE", `/api/regions/${ch.body.id}`)).status).toBe(204);
      expect((await http("GET", "/api/regions")).body.rows).toHaveLength(2);
    });

    it.each([
      [
        "a tax rate above 10000",
        "/api/regions",
        { name: "X", currency: "EUR", countries: ["IT"], taxRate: 10001 },
        "taxRate",
      ],
      [
        "a country in lower case",
        "/api/regions",
        { name: "X", currency: "EUR", countries: ["it"], taxRate: 0 },
        "countries[0]",
      ],
      ["a percentage above 100", "/api/promotions", { code: "BIG", type: "percentage", value: 101 }, "value"],
      ["a percentage of 0", "/api/promotions", { code: "NONE", type: "percentage", value: 0 }, "value"],
      [
        "a fixed code without currency",
        "/api/promotions",
        { code: "FIX", type: "fixed", value: 100 },
        "currency",
      ],
      [
        "a usageCount",
        "/api/promotions",
        { code: "CNT", type: "percentage", value: 5, usageCount: 3 },
        "usageCount",
      ],
      [
        "an option of no region",
        "/api/shipping-options",
        { name: "X", regionId: "nope", amount: 1 },
        "regionId",
      ],
    ])("should refuse %s with 422 naming the field", async (_name, route, body, field) => {
      const res = await asAdmin("POST", route, body);
      expect(res.status).toBe(422);
      expect(res.body.data.map((d: any) => d.field)).toContain(field);
    });

    it("should refuse a country already in another region with 409, changing nothing", async () => {
      const res = await asAdmin("POST", "/api/regions", {
        name: "Dup",
        currency: "EUR",
        countries: ["IT", "FR"],
        taxRate: 0,
      });
      expect(res).toMatchObject({ status: 409, body: { type: "COUNTRY_TAKEN", data: { country: "FR" } } });
      expect((await http("GET", "/api/regions")).body.rows.map((r: any) => r.name)).toEqual(["EU", "UK"]);
      const moved = await asAdmin("PATCH", `/api/regions/${uk.id}`, { countries: ["GB", "DE"] });
      expect(moved.status).toBe(409);
    });

    it("should refuse a code taken in another case with 409, and promotion routes to customers with 403", async () => {
      await promotion({ code: "Taken10", type: "percentage", value: 10 });
      expect(
        (await asAdmin("POST", "/api/promotions", { code: "TAKEN10", type: "percentage", value: 5 })).status,
      ).toBe(409);
      const buyer = await signup();
      expect((await http("GET", "/api/promotions", undefined, buyer.token)).status).toBe(403);
      expect(
        (
          await http(
            "POST",
            "/api/regions",
            { name: "X", currency: "EUR", countries: ["PT"], taxRate: 0 },
            buyer.token,
          )
        ).status,
      ).toBe(403);
    });
  });

  describe("the cart in a region", () => {
    it("should price every line in the region's currency, with shipping and exclusive tax", async () => {
      const p = await product(1000, 10, { EUR: 900 });
      const buyer = await signup();
      await http("POST", "/api/cart/items", { productId: p.id, quantity: 3 }, buyer.token);
      const inDe = await http("PATCH", "/api/cart", { countryCode: "DE" }, buyer.token);
      expect(inDe.status).toBe(200);
      expect(inDe.body).toMatchObject({
        regionId: eu.id,
        currency: "EUR",
        items: [expect.objectContaining({ unitPrice: 900, lineTotal: 2700 })],
        subtotal: 2700,
        shippingOption: null,
        shippingTotal: 0,
        taxRate: 2000,
        taxTotal: 540,
        total: 3240,
      });
      const shipped = await http("PATCH", "/api/cart", { shippingOptionId: standard.id }, buyer.token);
      // taxable 2700 + 500 = 3200; tax 640
      expect(shipped.body).toMatchObject({
        shippingOption: { id: standard.id, name: "Standard", amount: 500 },
        shippingTotal: 500,
        taxTotal: 640,
        total: 3840,
      });
      // 6 × 900 = 5400 >= freeAbove 5000: shipping is free.
      await http("PATCH", `/api/cart/items/${p.id}`, { quantity: 6 }, buyer.token);
      expect((await http("GET", "/api/cart", undefined, buyer.token)).body).toMatchObject({
        subtotal: 5400,
        shippingTotal: 0,
        taxTotal: 1080,
        total: 6480,
      });
      const back = await http("PATCH", "/api/cart", { regionId: null }, buyer.token);
      expect(back.body).toMatchObject({
        regionId: null,
        currency: "USD",
        subtotal: 6000,
        taxTotal: 0,
        total: 6000,
        shippingOption: null,
      });
    });

    it("should price a cart with a region's new tax rate at once (cached rules cleared on the write)", async () => {
      const p = await product(1000, 10, { CHF: 1000 });
      const ch = (
        await asAdmin("POST", "/api/regions", {
          name: "CH2",
          currency: "CHF",
          countries: ["LI"],
          taxRate: 800,
        })
      ).body;
      const buyer = await signup();
      await http("PATCH", "/api/cart", { regionId: ch.id }, buyer.token);
      const before = await http("POST", "/api/cart/items", { productId: p.id, quantity: 1 }, buyer.token);
      expect(before.body).toMatchObject({ taxTotal: 80, total: 1080 });
      await asAdmin("PATCH", `/api/regions/${ch.id}`, { taxRate: 810 });
      expect((await http("GET", "/api/cart", undefined, buyer.token)).body).toMatchObject({
        taxTotal: 81,
        total: 1081,
      });
      await asAdmin("DELETE", `/api/regions/${ch.id}`);
    });

    it("should take tax out of the total in a tax-inclusive region", async () => {
      const p = await product(1000, 10, { GBP: 999 });
      const buyer = await signup();
      await http("PATCH", "/api/cart", { regionId: uk.id }, buyer.token);
      const res = await http("POST", "/api/cart/items", { productId: p.id, quantity: 1 }, buyer.token);
      // net = roundHalfUp(999 × 10000 / 12000) = 832.5 -> 833; tax = 999 - 833
      expect(res.body).toMatchObject({
        currency: "GBP",
        subtotal: 999,
        taxInclusive: true,
        taxTotal: 166,
        total: 999,
      });
    });

    it("should refuse a variant with no price in the cart's currency with 422 PRICE_UNAVAILABLE on variantId", async () => {
      const usdOnly = await product(1000, 10);
      const buyer = await signup();
      await http("PATCH", "/api/cart", { countryCode: "FR" }, buyer.token);
      const res = await http("POST", "/api/cart/items", { productId: usdOnly.id, quantity: 1 }, buyer.token);
      expect(res.status).toBe(422);
      expect(res.body.data[0]).toMatchObject({ field: "variantId", type: "PRICE_UNAVAILABLE" });
      expect((await http("GET", "/api/cart", undefined, buyer.token)).body.items).toEqual([]);
    });

    it("should refuse a change of region a line has no price for, changing nothing", async () => {
      const usdOnly = await product(1000, 10);
      const buyer = await signup();
      await http("POST", "/api/cart/items", { productId: usdOnly.id, quantity: 1 }, buyer.token);
      const res = await http("PATCH", "/api/cart", { regionId: eu.id }, buyer.token);
      expect(res.status).toBe(422);
      expect(res.body.data[0]).toMatchObject({ field: "regionId", type: "PRICE_UNAVAILABLE" });
      expect((await http("GET", "/api/cart", undefined, buyer.token)).body).toMatchObject({
        regionId: null,
        currency: "USD",
        total: 1000,
      });
    });

    it.each([
      ["an unknown region", { regionId: "nope" }, 404, "NOT_FOUND"],
      ["an unknown shipping option", { shippingOptionId: "nope" }, 404, "NOT_FOUND"],
      ["a country code of three letters", { countryCode: "DEU" }, 422, "VALIDATION_ERROR"],
    ])("should refuse %s", async (_name, body, status, type) => {
      const buyer = await signup();
      const res = await http("PATCH", "/api/cart", body, buyer.token);
      expect(res).toMatchObject({ status, body: { type } });
    });

    it("should refuse a shipping option of another region with 422 on shippingOptionId", async () => {
      const buyer = await signup();
      await http("PATCH", "/api/cart", { regionId: uk.id }, buyer.token);
      const res = await http("PATCH", "/api/cart", { shippingOptionId: standard.id }, buyer.token);
      expect(res.status).toBe(422);
      expect(res.body.data[0].field).toBe("shippingOptionId");
      expect((await http("GET", "/api/cart", undefined, buyer.token)).body.shippingOption).toBeNull();
    });

    it("should clear the shipping option when the region changes", async () => {
      const buyer = await signup();
      await http("PATCH", "/api/cart", { regionId: eu.id, shippingOptionId: express.id }, buyer.token);
      const moved = await http("PATCH", "/api/cart", { regionId: uk.id }, buyer.token);
      expect(moved.body).toMatchObject({ regionId: uk.id, shippingOption: null });
    });
  });

  describe("promotions on the cart", () => {
    it.each([
      ["an unknown code", null, "PROMOTION_UNKNOWN"],
      ["an inactive code", { type: "percentage", value: 10, active: false }, "PROMOTION_INACTIVE"],
      [
        "an expired code",
        { type: "percentage", value: 10, endsAt: "2020-01-01T00:00:00Z" },
        "PROMOTION_EXPIRED",
      ],
      [
        "a code not started",
        { type: "percentage", value: 10, startsAt: "2999-01-01T00:00:00Z" },
        "PROMOTION_NOT_STARTED",
      ],
      [
        "a code below its minimum",
        { type: "percentage", value: 10, minSubtotal: 100000 },
        "PROMOTION_MIN_SUBTOTAL",
      ],
      [
        "a fixed code in another currency",
        { type: "fixed", value: 100, currency: "GBP" },
        "PROMOTION_CURRENCY",
      ],
      ["a used-up code", { type: "percentage", value: 10, usageLimit: 1 }, "PROMOTION_EXHAUSTED"],
    ])("should refuse %s with 422 on code", async (_name, promo, type) => {
      const code = `C${++seq}X`;
      if (promo) {
        const created = await promotion({ code, ...promo });
        if (type === "PROMOTION_EXHAUSTED") {
          const first = await signup();
          const p = await product(1000, 5, { EUR: 1000 });
          expect(
            (
              await order(first.token, {
                items: [{ productId: p.id, quantity: 1 }],
                shippingOptionId: standard.id,
                promotionCode: code,
              })
            ).status,
          ).toBe(201);
          expect(await usageOf(created.id)).toBe(1);
        }
      }
      const buyer = await signup();
      const p = await product(1000, 5, { EUR: 1000 });
      await http("POST", "/api/cart/items", { productId: p.id, quantity: 1 }, buyer.token);
      const res = await http("POST", "/api/cart/promotions", { code }, buyer.token);
      expect(res.status).toBe(422);
      expect(res.body.data[0]).toMatchObject({ field: "code", type });
      expect((await http("GET", "/api/cart", undefined, buyer.token)).body.promotionCode).toBeNull();
    });

    it("should apply a percentage code, keep it at 0 when it no longer applies, and remove it", async () => {
      await promotion({ code: "TENOFF", type: "percentage", value: 10, minSubtotal: 2000 });
      const buyer = await signup();
      const p = await product(1995, 5);
      await http("POST", "/api/cart/items", { productId: p.id, quantity: 2 }, buyer.token);
      const applied = await http("POST", "/api/cart/promotions", { code: "tenoff" }, buyer.token);
      // 3990 × 10 % = 399
      expect(applied.body).toMatchObject({
        promotionCode: "TENOFF",
        subtotal: 3990,
        discountTotal: 399,
        total: 3591,
      });
      const below = await http("PATCH", `/api/cart/items/${p.id}`, { quantity: 1 }, buyer.token);
      expect(below.body).toMatchObject({
        promotionCode: "TENOFF",
        subtotal: 1995,
        discountTotal: 0,
        total: 1995,
      });
      expect((await http("DELETE", "/api/cart/promotions/OTHER", undefined, buyer.token)).status).toBe(404);
      const removed = await http("DELETE", "/api/cart/promotions/TenOff", undefined, buyer.token);
      expect(removed.body).toMatchObject({ promotionCode: null, discountTotal: 0 });
    });
  });

  describe("checkout", () => {
    it("should charge the order's total and publish its breakdown: region, shipping and a code from the cart", async () => {
      await promotion({ code: "EU15", type: "percentage", value: 15 });
      const p = await product(1000, 10, { EUR: 1333 });
      const buyer = await signup();
      await http("POST", "/api/cart/items", { productId: p.id, quantity: 3 }, buyer.token);
      await http("PATCH", "/api/cart", { countryCode: "DE", shippingOptionId: express.id }, buyer.token);
      await http("POST", "/api/cart/promotions", { code: "EU15" }, buyer.token);
      const res = await order(buyer.token, {});
      expect(res.status).toBe(201);
      // subtotal 3999; discount roundHalfUp(3999 × 15 / 100) = 599.85 -> 600; taxable 3399 + 1500 = 4899;
      // tax roundHalfUp(4899 × 2000 / 10000) = 979.8 -> 980; total 5879
      expect(res.body).toMatchObject({
        status: "confirmed",
        regionId: eu.id,
        currency: "EUR",
        promotionCode: "EU15",
        subtotal: 3999,
        discountTotal: 600,
        shippingOption: { id: express.id, name: "Express", amount: 1500 },
        shippingTotal: 1500,
        taxRate: 2000,
        taxInclusive: false,
        taxTotal: 980,
        total: 5879,
      });
      const payment: any = await broker.call("payments.get", { orderId: res.body.id });
      expect(payment).toMatchObject({ amount: 5879, currency: "EUR", status: "succeeded" });
      const placed = events.find((e) => e.type === "order.placed" && e.key === res.body.id)!;
      expect(placed.data).toMatchObject({
        total: 5879,
        currency: "EUR",
        subtotal: 3999,
        discountTotal: 600,
        shippingTotal: 1500,
        taxTotal: 980,
      });
      expect((await http("GET", `/api/orders/${res.body.id}`, undefined, buyer.token)).body.total).toBe(5879);
    });

    it("should take the region from shippingAddress.country when the request names none", async () => {
      const p = await product(1000, 10, { EUR: 800 });
      const buyer = await signup();
      const res = await order(buyer.token, {
        items: [{ productId: p.id, quantity: 1 }],
        shippingOptionId: standard.id,
      });
      expect(res.body).toMatchObject({
        status: "confirmed",
        regionId: eu.id,
        currency: "EUR",
        subtotal: 800,
        shippingTotal: 500,
        taxTotal: 260,
        total: 1560,
      });
    });

    it.each([
      ["no shipping option in a region that has some", () => ({}), "shippingOptionId"],
      [
        "an option of another region",
        () => ({
          regionId: uk.id,
          shippingAddress: { ...ADDRESS, country: "GB" },
          shippingOptionId: standard.id,
        }),
        "shippingOptionId",
      ],
      ["a country outside the region named", () => ({ regionId: uk.id }), "shippingAddress.country"],
      ["an unknown region", () => ({ regionId: "nope" }), "regionId"],
      [
        "an unknown code",
        () => ({ shippingOptionId: standard.id, promotionCode: "NOSUCH" }),
        "promotionCode",
      ],
    ])(
      "should refuse %s with 422 naming the field, nothing reserved or ordered",
      async (_name, extra, field) => {
        const p = await product(1000, 4, { EUR: 1000, GBP: 1000 });
        const buyer = await signup();
        const res = await order(buyer.token, { items: [{ productId: p.id, quantity: 2 }], ...extra() });
        expect(res.status).toBe(422);
        expect(res.body.data[0].field).toBe(field);
        expect(await level(p.id)).toMatchObject({ available: 4, reserved: 0 });
        expect(await ordersOf(buyer.token)).toBe(0);
      },
    );

    it("should refuse a line with no price in the region's currency with 422 PRICE_UNAVAILABLE", async () => {
      const usdOnly = await product(1000, 4);
      const buyer = await signup();
      const res = await order(buyer.token, {
        items: [{ productId: usdOnly.id, quantity: 1 }],
        shippingOptionId: standard.id,
      });
      expect(res.status).toBe(422);
      expect(res.body.data[0]).toMatchObject({ field: "items[0].variantId", type: "PRICE_UNAVAILABLE" });
    });

    it("should refuse an order past the code's usageLimit with 409 PROMOTION_EXHAUSTED, and give uses back on cancel", async () => {
      const code = await promotion({
        code: "ONCE",
        type: "fixed",
        value: 250,
        currency: "EUR",
        usageLimit: 1,
      });
      const p = await product(1000, 10, { EUR: 1000 });
      const body = {
        items: [{ productId: p.id, quantity: 1 }],
        shippingOptionId: standard.id,
        promotionCode: "once",
      };
      const first = await signup();
      const placed = await order(first.token, body);
      expect(placed.body).toMatchObject({ status: "confirmed", discountTotal: 250 });
      const second = await signup();
      const refused = await order(second.token, body);
      expect(refused).toMatchObject({ status: 409, body: { type: "PROMOTION_EXHAUSTED" } });
      expect(await level(p.id)).toMatchObject({ available: 9, reserved: 0 });
      expect(await ordersOf(second.token)).toBe(0);
      expect(await usageOf(code.id)).toBe(1);

      expect(
        (await http("POST", `/api/orders/${placed.body.id}/cancel`, undefined, first.token)).status,
      ).toBe(200);
      expect(await usageOf(code.id)).toBe(0);
      expect((await order(second.token, body)).body).toMatchObject({
        status: "confirmed",
        discountTotal: 250,
      });
      expect(await usageOf(code.id)).toBe(1);
    });

    it("should give the use back when the payment is declined", async () => {
      const code = await promotion({ code: "DECL", type: "free_shipping", value: 0, usageLimit: 1 });
      const p = await product(1000, 10, { EUR: 1000 });
      const buyer = await signup();
      const body = {
        items: [{ productId: p.id, quantity: 1 }],
        shippingOptionId: express.id,
        promotionCode: "DECL",
      };
      const declined = await order(buyer.token, { ...body, payment: DECLINED });
      expect(declined.status).toBe(402);
      expect(await usageOf(code.id)).toBe(0);
      const ok = await order(buyer.token, body);
      expect(ok.body).toMatchObject({ status: "confirmed", shippingTotal: 0, taxTotal: 200, total: 1200 });
    });

    it("should give the use back when stock is short", async () => {
      const code = await promotion({ code: "SHORT", type: "percentage", value: 5, usageLimit: 3 });
      const p = await product(1000, 1, { EUR: 1000 });
      const buyer = await signup();
      const res = await order(buyer.token, {
        items: [{ productId: p.id, quantity: 2 }],
        shippingOptionId: standard.id,
        promotionCode: "SHORT",
      });
      expect(res).toMatchObject({ status: 409, body: { type: "INSUFFICIENT_STOCK" } });
      expect(await usageOf(code.id)).toBe(0);
    });

    it("should hold perCustomerLimit per user", async () => {
      const code = await promotion({ code: "PERCUST", type: "percentage", value: 10, perCustomerLimit: 1 });
      const p = await product(1000, 10, { EUR: 1000 });
      const body = {
        items: [{ productId: p.id, quantity: 1 }],
        shippingOptionId: standard.id,
        promotionCode: "PERCUST",
      };
      const ann = await signup();
      const bob = await signup();
      expect((await order(ann.token, body)).status).toBe(201);
      expect(await order(ann.token, body)).toMatchObject({
        status: 409,
        body: { type: "PROMOTION_EXHAUSTED" },
      });
      expect((await order(bob.token, body)).status).toBe(201);
      expect(await usageOf(code.id)).toBe(2);
    });
  });
});
