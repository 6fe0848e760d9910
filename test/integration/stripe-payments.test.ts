/**
 * PAYMENT_PROVIDER=stripe through the official `stripe` SDK against test/support/stripe-stub.ts
 * (the state-dependent flows stripe-mock cannot play: approval, 3-D Secure, decline, an intent
 * that changes later), every service in one broker on NeDB; partial refunds and returns over
 * HTTP. The same SDK path against stripe-mock, on the real services, is test/e2e/payments.test.ts.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Stripe from "stripe";
import type { ServiceBroker } from "moleculer";
import type { EventEnvelope } from "../../contracts";
import { ADDRESS, sleep } from "../support/fixtures";
import { jsonClient } from "../support/http";
import { bootNode } from "../support/node";
import { StripeStub } from "../support/stripe-stub";

const ADMIN = { email: "stripe-admin@shop.test", password: "stripe-admin-pw" };
const WHSEC = "whsec_integration_secret";
const sdk = new Stripe("sk_test_integration");

describe("payments through Stripe (SDK against a local stub), partial refunds and returns", () => {
  const stub = new StripeStub();
  let broker: ServiceBroker;
  let base: string;
  let adminToken: string;
  let buyer: { token: string; id: string };
  const events: EventEnvelope[] = [];
  let seq = 0;
  const http = jsonClient(() => base);

  const product = async (price: number, stock: number) =>
    (await broker.call(
      "products.create",
      { name: `Stripe product ${++seq}`, price, stock },
      { meta: { user: { id: "admin", role: "admin" } } },
    )) as any;
  const level = async (id: string) =>
    ((await broker.call("inventory.get", { productId: id })) as any).available;
  const place = (productId: string, token: string, quantity = 1) =>
    http(
      "POST",
      "/api/orders",
      { items: [{ productId, quantity }], payment: { method: "card", token }, shippingAddress: ADDRESS },
      buyer.token,
    );
  const order = async (id: string, token = buyer.token) =>
    (await http("GET", `/api/orders/${id}`, undefined, token)).body;
  const chargeOf = async (orderId: string) =>
    ((await broker.call("payments.get", { orderId })) as any).chargeId as string;
  /** A Stripe event for the intent, signed as Stripe signs it (the SDK's own test header). */
  const webhook = (type: string, intent: object, timestamp?: number) => {
    const payload = JSON.stringify({
      id: `evt_${++seq}`,
      object: "event",
      type,
      created: Math.floor(Date.now() / 1000),
      data: { object: intent },
    });
    const header = sdk.webhooks.generateTestHeaderString({ payload, secret: WHSEC, timestamp });
    return http("POST", "/api/payments/stripe/webhook", payload, undefined, { "stripe-signature": header });
  };
  const eventsOf = (orderId: string, type: string) =>
    events.filter((e) => e.key === orderId && e.type === type);
  /** The order's events of a type once the outbox published them (it publishes after the answer). */
  const published = async (orderId: string, type: string) => {
    for (let i = 0; i < 100 && !eventsOf(orderId, type).length; i++) await sleep(20);
    await sleep(100); // a second one, if any, would be out by now
    return eventsOf(orderId, type);
  };
  const refund = (orderId: string, amount: unknown, reason: unknown = "goodwill") =>
    http("POST", `/api/orders/${orderId}/refunds`, { amount, reason }, adminToken);
  const confirmedOrder = async (price = 1000, quantity = 1) => {
    const p = await product(price, 10);
    const res = await place(p.id, "pm_card_visa", quantity);
    expect(res.status).toBe(201);
    return { p, o: res.body };
  };

  beforeAll(async () => {
    const apiBase = await stub.start();
    ({ broker, base } = await bootNode({
      DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), "stripe-int-")),
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
      RATE_LIMIT_PER_MINUTE: "1000000",
      AUTH_RATE_LIMIT_PER_MINUTE: "100000",
      PAYMENT_PROVIDER: "stripe",
      STRIPE_SECRET_KEY: "sk_test_integration",
      STRIPE_WEBHOOK_SECRET: WHSEC,
      STRIPE_API_BASE: apiBase,
    }));
    const send = (broker as any).sendToChannel.bind(broker);
    (broker as any).sendToChannel = (channel: string, payload: any, opts: unknown) => {
      events.push(payload);
      return send(channel, payload, opts);
    };
    adminToken = (await http("POST", "/api/user/login", ADMIN)).body.accessToken;
    const res = await http("POST", "/api/user/signup", {
      email: `stripe-buyer-${Date.now()}@shop.test`,
      password: "buyer-password",
      name: "Stripe Buyer",
    });
    buyer = { token: res.body.accessToken, id: res.body.user.id };
  }, 120_000);

  afterAll(async () => {
    await broker?.stop();
    await stub.stop();
  });

  describe("charging", () => {
    it("should confirm an order paid with an approved PaymentMethod: 201, one PaymentIntent created", async () => {
      const before = stub.intents.size;
      const { o } = await confirmedOrder(2500);
      expect(o).toMatchObject({ status: "confirmed", total: 2500, refundedTotal: 0, returns: [] });
      expect(stub.intents.size).toBe(before + 1);
      const pi = stub.intents.get(await chargeOf(o.id))!;
      expect(pi).toMatchObject({ amount: 2500, currency: "usd", payment_method: "pm_card_visa" });
    });

    it("should refuse a simulated test token with 422 on payment.token while the provider is stripe", async () => {
      const p = await product(100, 5);
      const res = await place(p.id, "tok_visa");
      expect(res.status).toBe(422);
      expect(res.body.data).toEqual([expect.objectContaining({ field: "payment.token" })]);
      expect(await level(p.id)).toBe(5);
    });

    it("should answer a card error with 402 payment_failed and give the stock back", async () => {
      const p = await product(700, 3);
      const res = await place(p.id, "pm_card_chargeDeclined");
      expect(res.status).toBe(402);
      expect(res.body.data.order).toMatchObject({ status: "payment_failed" });
      expect(await level(p.id)).toBe(3);
    });

    it("should answer 3-D Secure with 202 requires_action and the client secret, stock still held", async () => {
      const p = await product(900, 4);
      const res = await place(p.id, "pm_card_threeDSecure2Required", 2);
      expect(res.status).toBe(202);
      expect(res.body).toMatchObject({
        status: "requires_action",
        payment: { status: "requires_action", clientSecret: expect.stringMatching(/_secret_/) },
      });
      expect(await level(p.id)).toBe(2);
    });
  });

  describe("settling a 3-D Secure payment exactly once", () => {
    const awaiting = async () => {
      const p = await product(1200, 5);
      const res = await place(p.id, "pm_card_threeDSecure2Required");
      expect(res.status).toBe(202);
      return { p, id: res.body.id as string, pi: stub.intents.get(await chargeOf(res.body.id))! };
    };

    it("should confirm on Stripe's webhook, and change nothing on its redelivery or an older event after it", async () => {
      const { id, pi } = await awaiting();
      const done = stub.settle(pi.id, "succeeded");
      const first = await webhook("payment_intent.succeeded", done);
      expect(first).toMatchObject({ status: 200, body: { received: true, applied: true } });
      // Delivered again, and a failure event from before it arriving late: both change nothing.
      expect((await webhook("payment_intent.succeeded", done)).body).toEqual({
        received: true,
        applied: false,
      });
      const late = { ...done, status: "requires_payment_method" };
      expect((await webhook("payment_intent.payment_failed", late)).body.applied).toBe(false);
      const o = await order(id);
      expect(o.status).toBe("confirmed");
      expect(o.history.filter((h: any) => h.status === "confirmed")).toHaveLength(1);
      expect(await published(id, "order.paid")).toHaveLength(1);
    });

    it("should confirm on the client's return (GET) when that comes first, then ignore the webhook", async () => {
      const { id, pi, p } = await awaiting();
      stub.settle(pi.id, "succeeded");
      // Webhook and client at once: one of them moves the order.
      const [got, hook] = await Promise.all([
        order(id),
        webhook("payment_intent.succeeded", stub.intents.get(pi.id)!),
      ]);
      expect(hook.status).toBe(200);
      expect((await order(id)).status).toBe("confirmed");
      expect(["confirmed", "requires_action"]).toContain(got.status);
      expect((await webhook("payment_intent.succeeded", stub.intents.get(pi.id)!)).body.applied).toBe(false);
      expect(await published(id, "order.paid")).toHaveLength(1);
      expect((await order(id)).history.filter((h: any) => h.status === "confirmed")).toHaveLength(1);
      expect(await level(p.id)).toBe(4);
    });

    it("should fail the order on payment_intent.payment_failed and give the stock back", async () => {
      const { id, pi, p } = await awaiting();
      const failed = stub.settle(pi.id, "requires_payment_method");
      expect((await webhook("payment_intent.payment_failed", failed)).body.applied).toBe(true);
      const o = await order(id);
      expect(o.status).toBe("payment_failed");
      expect(await level(p.id)).toBe(5);
      expect(await published(id, "order.payment_failed")).toHaveLength(1);
    });

    it("should give the money back when the customer pays after the order failed (3-D Secure retried)", async () => {
      const { id, pi } = await awaiting();
      await webhook("payment_intent.payment_failed", stub.settle(pi.id, "requires_payment_method"));
      expect((await order(id)).status).toBe("payment_failed");
      const paidLate = stub.settle(pi.id, "succeeded");
      expect((await webhook("payment_intent.succeeded", paidLate)).body.applied).toBe(true);
      expect((await webhook("payment_intent.succeeded", paidLate)).body.applied).toBe(false);
      expect(stub.refunds.filter((r) => r.payment_intent === pi.id).map((r) => r.amount)).toEqual([1200]);
      expect(await broker.call("payments.get", { orderId: id })).toMatchObject({ status: "refunded" });
      expect((await order(id)).status).toBe("payment_failed");
    });

    it("should refuse a wrong or 301 s old Stripe-Signature with 400 and leave the order waiting", async () => {
      const { id, pi } = await awaiting();
      const done = stub.settle(pi.id, "succeeded");
      const stale = await webhook("payment_intent.succeeded", done, Math.floor(Date.now() / 1000) - 301);
      expect(stale).toMatchObject({ status: 400, body: { type: "INVALID_SIGNATURE" } });
      const payload = JSON.stringify({
        id: "evt_x",
        type: "payment_intent.succeeded",
        data: { object: done },
      });
      const forged = await http("POST", "/api/payments/stripe/webhook", payload, undefined, {
        "stripe-signature": `t=${Math.floor(Date.now() / 1000)},v1=${"0".repeat(64)}`,
      });
      expect(forged).toMatchObject({ status: 400, body: { type: "INVALID_SIGNATURE" } });
      const unsigned = await http("POST", "/api/payments/stripe/webhook", payload);
      expect(unsigned.status).toBe(400);
      const row = await broker.call("payments.get", { orderId: id });
      expect(row).toMatchObject({ status: "requires_action", webhooks: [] });
    });
  });

  describe("partial refunds", () => {
    it("should refund parts up to the total, then refuse the next with 422 on amount", async () => {
      const { o } = await confirmedOrder(1000);
      const answers = [];
      for (const amount of [300, 300, 300]) answers.push(await refund(o.id, amount));
      expect(answers.map((a) => a.status)).toEqual([201, 201, 201]);
      expect(answers[0].body).toEqual({
        id: expect.any(String),
        orderId: o.id,
        amount: 300,
        reason: "goodwill",
        status: "succeeded",
        createdAt: expect.any(String),
      });
      const over = await refund(o.id, 101);
      expect(over.status).toBe(422);
      expect(over.body.data).toEqual([expect.objectContaining({ field: "amount" })]);
      expect((await order(o.id)).refundedTotal).toBe(900);
      const pi = await chargeOf(o.id);
      expect(stub.refunds.filter((r) => r.payment_intent === pi).map((r) => r.amount)).toEqual([
        300, 300, 300,
      ]);
      expect((await published(o.id, "order.refunded")).map((e: any) => e.data.amount)).toEqual([
        300, 300, 300,
      ]);
    });

    it("should refuse an amount below 1, a missing reason or a refund by a customer, each with 4xx and nothing refunded", async () => {
      const { o } = await confirmedOrder(1000);
      const before = stub.refunds.length;
      expect((await refund(o.id, 0)).status).toBe(422);
      expect((await refund(o.id, 1.5)).status).toBe(422);
      expect((await refund(o.id, "100")).status).toBe(422);
      expect((await http("POST", `/api/orders/${o.id}/refunds`, { amount: 100 }, adminToken)).status).toBe(
        422,
      );
      const byBuyer = await http(
        "POST",
        `/api/orders/${o.id}/refunds`,
        { amount: 100, reason: "x" },
        buyer.token,
      );
      expect(byBuyer.status).toBe(403);
      expect((await refund("no-such-order", 100)).status).toBe(404);
      expect(stub.refunds.length).toBe(before);
      expect((await order(o.id)).refundedTotal).toBe(0);
    });

    it("should refuse a refund of an order that is not paid (payment_failed) with 409", async () => {
      const p = await product(500, 2);
      const failed = await place(p.id, "pm_card_chargeDeclined");
      expect((await refund(failed.body.data.order.id, 100)).status).toBe(409);
    });

    it("should refund only total − refundedTotal when a partly refunded order is cancelled", async () => {
      const { o } = await confirmedOrder(1000);
      expect((await refund(o.id, 250)).status).toBe(201);
      const cancelled = await http("POST", `/api/orders/${o.id}/cancel`, undefined, buyer.token);
      expect(cancelled.status).toBe(200);
      expect(cancelled.body).toMatchObject({ status: "cancelled", refundedTotal: 1000 });
      expect(stub.refunds.slice(-2).map((r) => r.amount)).toEqual([250, 750]);
      expect((await refund(o.id, 1)).status).toBe(409);
    });
  });

  describe("returns", () => {
    const shipped = async (quantity = 3, price = 1000) => {
      const { o, p } = await confirmedOrder(price, quantity);
      const res = await http("PATCH", `/api/orders/${o.id}/status`, { status: "shipped" }, adminToken);
      expect(res.status).toBe(200);
      return { o, p };
    };
    const ask = (orderId: string, items: unknown, token = buyer.token) =>
      http("POST", `/api/orders/${orderId}/returns`, { items, reason: "too small" }, token);

    it("should refuse a return of a confirmed, not shipped order with 409", async () => {
      const { o, p } = await confirmedOrder(1000, 1);
      expect((await ask(o.id, [{ variantId: p.id, quantity: 1 }])).status).toBe(409);
    });

    it("should take a return of some lines back: requested, then received with stock back and refundAmount refunded", async () => {
      const { o, p } = await shipped(3, 1000);
      const stock = await level(p.id);
      const res = await ask(o.id, [{ variantId: p.id, quantity: 2 }]);
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({
        orderId: o.id,
        items: [{ variantId: p.id, quantity: 2 }],
        reason: "too small",
        status: "requested",
        refundAmount: 2000,
      });
      expect((await order(o.id)).returns).toEqual([res.body.id]);
      // 2 of 3 are being returned: only 1 more may be
      const tooMany = await ask(o.id, [{ variantId: p.id, quantity: 2 }]);
      expect(tooMany.status).toBe(422);
      expect(tooMany.body.data[0].field).toBe("items[0].quantity");
      const mine = await http("GET", "/api/returns?status=requested", undefined, buyer.token);
      expect(mine.body.rows.map((r: any) => r.id)).toContain(res.body.id);
      const received = await http("POST", `/api/returns/${res.body.id}/receive`, {}, adminToken);
      expect(received).toMatchObject({ status: 200, body: { status: "refunded", refundAmount: 2000 } });
      expect(await level(p.id)).toBe(stock + 2);
      expect((await order(o.id)).refundedTotal).toBe(2000);
      expect((await http("POST", `/api/returns/${res.body.id}/receive`, {}, adminToken)).status).toBe(409);
      expect(await published(o.id, "return.requested")).toHaveLength(1);
      expect((await published(o.id, "order.refunded")).map((e: any) => e.data.amount)).toEqual([2000]);
    });

    it("should give a rejected return's quantities back, and refuse an unknown variant with 422", async () => {
      const { o, p } = await shipped(1, 500);
      const first = await ask(o.id, [{ variantId: p.id, quantity: 1 }]);
      expect(first.status).toBe(201);
      expect((await ask(o.id, [{ variantId: p.id, quantity: 1 }])).status).toBe(422);
      const rejected = await http(
        "POST",
        `/api/returns/${first.body.id}/reject`,
        { reason: "worn" },
        adminToken,
      );
      expect(rejected).toMatchObject({ status: 200, body: { status: "rejected" } });
      expect(
        (await http("POST", `/api/returns/${first.body.id}/reject`, { reason: "x" }, adminToken)).status,
      ).toBe(409);
      expect((await ask(o.id, [{ variantId: p.id, quantity: 1 }])).status).toBe(201);
      expect((await ask(o.id, [{ variantId: "nope", quantity: 1 }])).status).toBe(422);
    });

    it("should hide another user's order (404) and let no customer receive a return (403)", async () => {
      const { o, p } = await shipped(1, 500);
      const other = await http("POST", "/api/user/signup", {
        email: `stripe-other-${Date.now()}@shop.test`,
        password: "other-password",
        name: "Other",
      });
      expect((await ask(o.id, [{ variantId: p.id, quantity: 1 }], other.body.accessToken)).status).toBe(404);
      const r = await ask(o.id, [{ variantId: p.id, quantity: 1 }]);
      expect((await http("POST", `/api/returns/${r.body.id}/receive`, {}, buyer.token)).status).toBe(403);
      expect((await http("POST", "/api/returns/ret_none/receive", {}, adminToken)).status).toBe(404);
    });
  });
});
