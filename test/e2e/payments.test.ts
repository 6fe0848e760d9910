/**
 * Payments through Stripe's own API server: the real services (NATS, Kafka, the MongoDB API,
 * Mailpit) and stripe-mock (scripts/infra, STRIPE_API_BASE in .infra.env), which validates every
 * request the `stripe` SDK sends against Stripe's API definition. stripe-mock is stateless: each
 * PaymentIntent it returns is `requires_payment_method`, so an order waits in requires_action
 * until Stripe's webhook (signed here as Stripe signs, with the SDK) confirms it. Orders and
 * payments run on two nodes; the gateway balances calls between them.
 * The flows stripe-mock cannot play (approval at once, 3-D Secure, declines, the client's
 * confirmation) run against test/support/stripe-stub.ts in test/integration/stripe-payments.test.ts.
 */
import Stripe from "stripe";
import type { ServiceBroker } from "moleculer";
import { ALL_SERVICES } from "../../lib/config";
import { callsServed, observer, waitForServices } from "../support/broker";
import { Cluster, describeE2E, waitFor } from "../support/cluster";
import { jsonClient } from "../support/http";
import { TopicReader, type SeenRecord } from "../support/kafka";
import { Mailpit } from "../support/mailpit";

const ADMIN = { email: "payments-e2e@shop.test", password: "payments-e2e-password" };
const WHSEC = "whsec_e2e_payments";
const ADDRESS = { name: "Pat", line1: "3 Pay St", city: "Ogdenville", postalCode: "11111", country: "US" };
const PAY_NODES = ["pay1", "pay2"];
const sdk = new Stripe("sk_test_e2e");
// The driver moleculer-db-adapter-mongo brings (3.x) has no type declarations.
const { MongoClient } = require("mongodb");

describeE2E(
  "payments through the stripe SDK and stripe-mock, refunds and returns on two payments nodes",
  () => {
    let cluster: Cluster;
    let obs: ServiceBroker;
    let reader: TopicReader;
    let mail: Mailpit;
    let mongo: any;
    let db: any;
    let adminToken: string;
    let buyer: { token: string; email: string };
    let seq = 0;
    const http = jsonClient(() => cluster.baseUrl, 60_000);
    const common = () => ({
      RATE_LIMIT_PER_MINUTE: "10000000",
      AUTH_RATE_LIMIT_PER_MINUTE: "100000",
      ACCESS_TOKEN_TTL: "3600",
      LOG_LEVEL: "warn",
      PAYMENT_PROVIDER: "stripe",
      STRIPE_SECRET_KEY: "sk_test_e2e",
      STRIPE_WEBHOOK_SECRET: WHSEC,
      STRIPE_API_BASE: cluster.infra.STRIPE_API_BASE,
    });

    const records = (topic: string, orderId: string): SeenRecord[] =>
      reader.records.filter((r) => r.topic === topic && r.key === orderId);
    /** Stripe's event for the intent, signed with the SDK as Stripe signs it. */
    const webhook = (type: string, intent: object, created = Math.floor(Date.now() / 1000)) => {
      const payload = JSON.stringify({
        id: `evt_e2e_${++seq}`,
        object: "event",
        type,
        created,
        data: { object: intent },
      });
      const header = sdk.webhooks.generateTestHeaderString({ payload, secret: WHSEC });
      return http("POST", "/api/payments/stripe/webhook", payload, undefined, { "stripe-signature": header });
    };
    const order = async (id: string) => (await http("GET", `/api/orders/${id}`, undefined, buyer.token)).body;
    /** An order paid through the SDK path: 202 requires_action from stripe-mock, then the webhook. */
    const paidOrder = async (price: number, quantity = 1) => {
      const p = await http(
        "POST",
        "/api/products",
        { name: `Pay E2E ${++seq}`, price, stock: 20 },
        adminToken,
      );
      expect(p.status).toBe(201);
      const placed = await http(
        "POST",
        "/api/orders",
        {
          items: [{ productId: p.body.id, quantity }],
          payment: { method: "card", token: "pm_card_visa" },
          shippingAddress: ADDRESS,
        },
        buyer.token,
      );
      expect(placed.status).toBe(202);
      expect(placed.body).toMatchObject({
        status: "requires_action",
        payment: { status: "requires_action", clientSecret: expect.stringContaining("_secret_") },
      });
      const pay = await db.collection("payments").findOne({ orderId: placed.body.id });
      expect(pay).toMatchObject({ provider: "stripe", chargeId: expect.stringMatching(/^pi_/) });
      const hook = await webhook("payment_intent.succeeded", {
        id: pay.chargeId,
        object: "payment_intent",
        status: "succeeded",
      });
      expect(hook.status).toBe(200);
      await waitFor(
        "the webhook to confirm the order",
        async () => (await order(placed.body.id)).status === "confirmed",
      );
      return { product: p.body, order: await order(placed.body.id), chargeId: pay.chargeId as string };
    };

    beforeAll(async () => {
      cluster = new Cluster();
      if (!cluster.infra.STRIPE_API_BASE)
        throw new Error("STRIPE_API_BASE missing from .infra.env: run `npm run infra:up`");
      await cluster.add("identity", ["users", "tokens"], {
        ...common(),
        ADMIN_EMAIL: ADMIN.email,
        ADMIN_PASSWORD: ADMIN.password,
      });
      await cluster.add("gateway", ["api"], common());
      await cluster.add("catalog", ["products", "inventory"], common());
      for (const name of PAY_NODES) await cluster.add(name, ["payments", "orders"], common());
      const own = ["api", "users", "tokens", "products", "inventory", "payments", "orders"];
      await cluster.add(
        "rest",
        ALL_SERVICES.filter((s) => !own.includes(s)),
        common(),
      );
      await cluster.waitReady(120_000);
      obs = await observer(cluster);
      await waitForServices(obs, cluster, { payments: 2 });
      reader = new TopicReader(cluster.infra.KAFKA_BROKERS);
      await reader.start(["order_paid", "order_payment_failed", "order_refunded", "return_requested"]);
      mail = new Mailpit(cluster.infra.MAILPIT_URL);
      mongo = await MongoClient.connect(cluster.env([]).MONGO_URI, { useUnifiedTopology: true } as any);
      db = mongo.db(cluster.namespace);
      adminToken = (await http("POST", "/api/user/login", ADMIN)).body.accessToken;
      const email = `pay-buyer-${cluster.namespace}@shop.test`;
      const res = await http("POST", "/api/user/signup", {
        email,
        password: "buyer-password",
        name: "Pay Buyer",
      });
      expect(res.status).toBe(201);
      buyer = { token: res.body.accessToken, email };
    }, 240_000);

    afterAll(async () => {
      await reader?.stop();
      await mongo?.close();
      await obs?.stop();
      await cluster?.stopAll();
    });

    it("should pay an order through the stripe SDK: a PaymentIntent at stripe-mock, confirmed by Stripe's webhook, one order_paid", async () => {
      const { order: o } = await paidOrder(4200, 2);
      expect(o).toMatchObject({ status: "confirmed", total: 8400, payment: { status: "succeeded" } });
      await waitFor("order_paid on Kafka", async () => records("order_paid", o.id).length === 1);
      expect(records("order_paid", o.id)[0].value.data).toMatchObject({
        orderId: o.id,
        total: 8400,
        currency: "USD",
      });
    });

    it("should change the order once when the webhook comes 8 times at once and an older failure arrives after it", async () => {
      const p = await http(
        "POST",
        "/api/products",
        { name: `Pay E2E ${++seq}`, price: 1500, stock: 5 },
        adminToken,
      );
      const placed = await http(
        "POST",
        "/api/orders",
        {
          items: [{ productId: p.body.id, quantity: 1 }],
          payment: { method: "card", token: "pm_card_visa" },
          shippingAddress: ADDRESS,
        },
        buyer.token,
      );
      expect(placed.status).toBe(202);
      const { chargeId } = await db.collection("payments").findOne({ orderId: placed.body.id });
      const intent = { id: chargeId, object: "payment_intent", status: "succeeded" };
      const older = Math.floor(Date.now() / 1000) - 60;
      // Eight times at once (the gateway spreads them over both payments nodes), then a stale failure.
      const copies = await Promise.all(
        Array.from({ length: 8 }, () => webhook("payment_intent.succeeded", intent)),
      );
      expect(copies.map((r) => r.status)).toEqual(Array(8).fill(200));
      expect(copies.filter((r) => r.body.applied)).toHaveLength(1);
      const late = await webhook(
        "payment_intent.payment_failed",
        { ...intent, status: "requires_payment_method", last_payment_error: { code: "card_declined" } },
        older,
      );
      expect(late.body).toEqual({ received: true, applied: false });
      await waitFor(
        "the order to be confirmed",
        async () => (await order(placed.body.id)).status === "confirmed",
      );
      await waitFor("order_paid on Kafka", async () => records("order_paid", placed.body.id).length >= 1);
      // Past the outbox sweep: a second record would be there by now.
      await new Promise((r) => setTimeout(r, 6000));
      const o = await order(placed.body.id);
      expect(o.history.map((h: any) => h.status)).toEqual(["pending", "requires_action", "confirmed"]);
      expect(records("order_paid", placed.body.id)).toHaveLength(1);
      expect(records("order_payment_failed", placed.body.id)).toHaveLength(0);
      const stock = await http("GET", `/api/inventory/${p.body.id}`);
      expect(stock.body).toMatchObject({ available: 4, reserved: 0 });
    });

    it("should refuse a webhook with a wrong signature with 400 and change nothing", async () => {
      const payload = JSON.stringify({
        id: "evt_forged",
        type: "payment_intent.succeeded",
        data: { object: { id: "pi_x" } },
      });
      const res = await http("POST", "/api/payments/stripe/webhook", payload, undefined, {
        "stripe-signature": sdk.webhooks.generateTestHeaderString({ payload, secret: "whsec_not_ours" }),
      });
      expect(res).toMatchObject({ status: 400, body: { type: "INVALID_SIGNATURE" } });
    });

    it("should let exactly 3 of 10 concurrent refunds of 30 % succeed across both nodes: refundedTotal 90 %", async () => {
      const { order: o } = await paidOrder(10_000);
      const before = await Promise.all(
        PAY_NODES.map((n) => callsServed(obs, `${cluster.namespace}-${n}`, "orders.refund")),
      );
      const results = await Promise.all(
        Array.from({ length: 10 }, () =>
          http("POST", `/api/orders/${o.id}/refunds`, { amount: 3000, reason: "damaged" }, adminToken),
        ),
      );
      const after = await Promise.all(
        PAY_NODES.map((n) => callsServed(obs, `${cluster.namespace}-${n}`, "orders.refund")),
      );
      expect(results.filter((r) => r.status >= 500)).toEqual([]);
      expect(results.map((r) => r.status).sort()).toEqual([201, 201, 201, 422, 422, 422, 422, 422, 422, 422]);
      for (const r of results.filter((x) => x.status === 422))
        expect(r.body.data).toEqual([expect.objectContaining({ field: "amount" })]);
      // Both nodes took refunds: the guard held across processes, not only inside one.
      expect(after.map((n, i) => n - before[i]).every((n) => n > 0)).toBe(true);
      expect((await order(o.id)).refundedTotal).toBe(9000);
      const pay = await db.collection("payments").findOne({ orderId: o.id });
      expect(pay.refundedAmount).toBe(9000);
      await waitFor("3 order_refunded records", async () => records("order_refunded", o.id).length === 3);
      expect(records("order_refunded", o.id).map((r) => r.value.data.amount)).toEqual([3000, 3000, 3000]);
      await waitFor(
        "3 refund emails",
        async () => (await mail.to(buyer.email)).filter((m) => /refund of/i.test(m.Subject)).length === 3,
      );
      // The rest (10 %) is still refundable, and no more.
      expect(
        (await http("POST", `/api/orders/${o.id}/refunds`, { amount: 1001, reason: "x" }, adminToken)).status,
      ).toBe(422);
      expect(
        (await http("POST", `/api/orders/${o.id}/refunds`, { amount: 1000, reason: "x" }, adminToken)).status,
      ).toBe(201);
    });

    it("should take a return of a shipped order: return_requested on Kafka, an email, and the refund on receipt", async () => {
      const { order: o, product } = await paidOrder(2000, 2);
      expect(
        (await http("PATCH", `/api/orders/${o.id}/status`, { status: "shipped" }, adminToken)).status,
      ).toBe(200);
      const asked = await http(
        "POST",
        `/api/orders/${o.id}/returns`,
        { items: [{ variantId: product.id, quantity: 1 }], reason: "wrong colour" },
        buyer.token,
      );
      expect(asked).toMatchObject({ status: 201, body: { status: "requested", refundAmount: 2000 } });
      await waitFor("return_requested on Kafka", async () => records("return_requested", o.id).length === 1);
      expect(records("return_requested", o.id)[0].value.data).toMatchObject({
        returnId: asked.body.id,
        orderId: o.id,
        items: [{ variantId: product.id, quantity: 1 }],
      });
      await waitFor("the return email", async () =>
        (await mail.to(buyer.email)).some((m) => /return request/i.test(m.Subject)),
      );
      const received = await http("POST", `/api/returns/${asked.body.id}/receive`, {}, adminToken);
      expect(received).toMatchObject({ status: 200, body: { status: "refunded" } });
      expect((await order(o.id)).refundedTotal).toBe(2000);
      expect((await http("GET", `/api/inventory/${product.id}`)).body.available).toBe(19);
      await waitFor(
        "order_refunded for the return",
        async () => records("order_refunded", o.id).length === 1,
      );
    });
  },
);
