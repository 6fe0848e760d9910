import type { ServiceBroker } from "moleculer";
import { ALL_SERVICES } from "../../lib/config";
import { signWebhook } from "../../domain/payments";
import { observer } from "../support/broker";
import { Cluster, describeE2E, sleep, waitFor, type NodeProcess } from "../support/cluster";
import { jsonClient, type Res } from "../support/http";

const ADMIN = { email: "checkout-e2e@shop.test", password: "checkout-e2e-password" };
const SECRET = "e2e-payment-webhook-secret";
const ADDRESS = { name: "Eve", line1: "2 Side St", city: "Shelbyville", postalCode: "54321", country: "US" };
const USERS = 10;
// The driver moleculer-db-adapter-mongo brings (3.x) has no type declarations.
const { MongoClient } = require("mongodb");
/** Placed on their own nodes: the saga crosses NATS for every step. */
const OWN_NODES = ["api", "users", "tokens", "products", "inventory", "payments", "orders"];

describeE2E(
  "checkout on a cluster: orders on two nodes, inventory and payments on their own, over NATS and the MongoDB API",
  () => {
    let cluster: Cluster;
    let obs: ServiceBroker;
    let mongo: any;
    let db: any;
    let adminToken: string;
    const orderNodes: NodeProcess[] = [];
    const users: { token: string; id: string }[] = [];
    const common = {
      RATE_LIMIT_PER_MINUTE: "10000000",
      AUTH_RATE_LIMIT_PER_MINUTE: "100000",
      ACCESS_TOKEN_TTL: "3600",
      PAYMENT_WEBHOOK_SECRET: SECRET,
      CHECKOUT_LEASE_SECONDS: "5",
      LOG_LEVEL: "warn",
    };

    const http = jsonClient(() => cluster.baseUrl);
    const product = async (stock: number, price = 1000) => {
      const res = await http(
        "POST",
        "/api/products",
        { name: `E2E ${Date.now()}`, price, stock },
        adminToken,
      );
      expect(res.status).toBe(201);
      return res.body;
    };
    const orderBody = (productId: string, quantity = 1, token = "tok_visa") => ({
      items: [{ productId, quantity }],
      payment: { method: "card", token },
      shippingAddress: ADDRESS,
    });
    const place = (user: { token: string }, body: unknown, key?: string, timeoutMs?: number) =>
      http("POST", "/api/orders", body, user.token, key ? { "idempotency-key": key } : {}, timeoutMs);
    const level = (productId: string) => obs.call("inventory.get", { productId }) as Promise<any>;
    const startOrders = async (name: string, extra: Record<string, string> = {}) => {
      const node = await cluster.add(name, ["orders"], { ...common, ...extra });
      orderNodes.push(node);
      return node;
    };
    /** "" when every answer has an expected status; otherwise those answers and the nodes' error lines. */
    const unexpectedAnswers = (results: Res[], expected: number[]) => {
      const bad = results.filter((r) => !expected.includes(r.status));
      return bad.length
        ? `${bad.map((r) => `${r.status} ${r.text}`).join("\n")}\n${cluster.errorLines()}`
        : "";
    };
    const ordersNodesUp = () =>
      obs.registry.getServiceList({ onlyAvailable: true }).filter((s: any) => s.name === "orders").length;
    /** Sold units of a product: the committed reservations in inventory's own records. */
    const sold = async (productId: string) => {
      const rows = await db
        .collection("stock")
        .find({ kind: "reservation", state: "committed", "lines.productId": productId })
        .toArray();
      return rows.reduce(
        (n: number, r: any) =>
          n +
          r.lines
            .filter((l: any) => l.productId === productId)
            .reduce((m: number, l: any) => m + l.quantity, 0),
        0,
      );
    };

    beforeAll(async () => {
      cluster = new Cluster();
      await cluster.add("identity", ["users", "tokens"], {
        ...common,
        ADMIN_EMAIL: ADMIN.email,
        ADMIN_PASSWORD: ADMIN.password,
      });
      await cluster.add("gateway", ["api"], common);
      await cluster.add("catalog", ["products"], common);
      await cluster.add("inventory", ["inventory"], common);
      await cluster.add("payments", ["payments"], common);
      await startOrders("orders1");
      await startOrders("orders2");
      await cluster.add(
        "rest",
        ALL_SERVICES.filter((s) => !OWN_NODES.includes(s)),
        common,
      );
      await cluster.waitReady(90_000);
      obs = await observer(cluster);
      await waitFor("both orders nodes to be discovered", async () => ordersNodesUp() === 2, 30_000);
      mongo = await MongoClient.connect(cluster.env([]).MONGO_URI, { useUnifiedTopology: true } as any);
      db = mongo.db(cluster.namespace);
      const login = await http("POST", "/api/user/login", ADMIN);
      expect(login.status).toBe(200);
      adminToken = login.body.accessToken;
      for (let i = 0; i < USERS; i++) {
        const res = await http("POST", "/api/user/signup", {
          email: `e2e-buyer-${i}-${cluster.namespace}@shop.test`,
          password: "buyer-password",
          name: `Buyer ${i}`,
        });
        expect(res.status).toBe(201);
        users.push({ token: res.body.accessToken, id: res.body.user.id });
      }
    }, 180_000);

    afterAll(async () => {
      await mongo?.close();
      await obs?.stop();
      await cluster?.stopAll();
    });

    it("should sell exactly 50 of 200 concurrent single-unit orders on a stock of 50: 50 x 201, 150 x 409, no 5xx", async () => {
      const p = await product(50);
      const results = await Promise.all(
        Array.from({ length: 200 }, (_, i) => place(users[i % USERS], orderBody(p.id))),
      );
      const by = (s: number) => results.filter((r) => r.status === s);
      expect(unexpectedAnswers(results, [201, 409])).toBe("");
      expect([by(201).length, by(409).length]).toEqual([50, 150]);
      for (const r of by(409))
        expect(r.body).toMatchObject({ type: "INSUFFICIENT_STOCK", data: { productIds: [p.id] } });
      const ids = by(201).map((r) => r.body.id);
      expect(new Set(ids).size).toBe(50);
      expect(by(201).every((r) => r.body.status === "confirmed")).toBe(true);
      expect(await level(p.id)).toEqual({ productId: p.id, available: 0, reserved: 0 });
      expect(
        await db.collection("payments").countDocuments({ orderId: { $in: ids }, status: "succeeded" }),
      ).toBe(50);
      const orders = await db.collection("orders").find({ kind: "order", "items.productId": p.id }).toArray();
      expect(orders.filter((o: any) => !o.hidden)).toHaveLength(50);
      expect(
        await db.collection("payments").countDocuments({ orderId: { $in: orders.map((o: any) => o._id) } }),
      ).toBe(50);
    }, 180_000);

    it("should make one order and one payment of 20 concurrent requests with one Idempotency-Key, then 422 for another body", async () => {
      const p = await product(100);
      const user = users[0];
      const results = await Promise.all(
        Array.from({ length: 20 }, () => place(user, orderBody(p.id, 2), "e2e-one-key")),
      );
      expect(unexpectedAnswers(results, [201, 409])).toBe("");
      const ids = new Set(results.filter((r) => r.status === 201).map((r) => r.body.id));
      expect(ids.size).toBe(1);
      const [orderId] = ids;
      expect(await db.collection("orders").countDocuments({ kind: "order", "items.productId": p.id })).toBe(
        1,
      );
      expect(await db.collection("payments").countDocuments({ orderId })).toBe(1);
      expect(await level(p.id)).toEqual({ productId: p.id, available: 98, reserved: 0 });
      const other = await place(user, orderBody(p.id, 3), "e2e-one-key");
      expect(other.status).toBe(422);
      expect((await place(user, orderBody(p.id, 2), "e2e-one-key")).body.id).toBe(orderId);
    }, 120_000);

    it("should answer a webhook with a bad signature 400 and change nothing, and apply one sent three times at once once", async () => {
      const p = await product(5);
      const { body: order } = await place(users[1], orderBody(p.id));
      const pay: any = await obs.call("payments.get", { orderId: order.id });
      const raw = JSON.stringify({
        id: `evt_${order.id}`,
        type: "charge.refunded",
        data: { chargeId: pay.chargeId },
      });
      const hook = (sig: string) =>
        http("POST", "/api/payments/webhook", raw, undefined, { "payment-signature": sig });
      expect((await hook(signWebhook("not-the-webhook-secret", raw))).status).toBe(400);
      expect(await obs.call("payments.get", { orderId: order.id })).toMatchObject({
        status: "succeeded",
        webhooks: [],
      });
      const sig = signWebhook(SECRET, raw);
      const results = await Promise.all([hook(sig), hook(sig), hook(sig)]);
      expect(results.map((r) => r.status)).toEqual([200, 200, 200]);
      expect(results.filter((r) => r.body.applied)).toHaveLength(1);
      const after: any = await obs.call("payments.get", { orderId: order.id });
      expect(after).toMatchObject({ status: "refunded" });
      expect(after.webhooks).toHaveLength(1);
    }, 60_000);

    it("should lose and duplicate nothing when one of two orders nodes is SIGKILLed during 1,000 orders with retried keys", async () => {
      const INITIAL = 1500;
      const TOTAL = 1000;
      const p = await product(INITIAL, 100);
      const final: { status: number; body: any }[] = new Array(TOTAL);
      let attempts = 0;
      let retried = 0;
      let completed = 0;
      let killed = false;
      const victim = orderNodes[0];
      const one = async (i: number) => {
        const user = users[i % USERS];
        for (let attempt = 0; ; attempt++) {
          attempts++;
          const res = await place(user, orderBody(p.id), `bulk-${cluster.namespace}-${i}`, 20_000).catch(
            (err) => ({ status: 0, body: String(err) }),
          );
          const retry =
            res.status === 0 ||
            res.status >= 500 ||
            (res.status === 409 && res.body?.type === "IDEMPOTENCY_KEY_IN_USE");
          if (!retry || attempt >= 30) return res;
          retried++;
          await sleep(250);
        }
      };
      let next = 0;
      const worker = async () => {
        while (next < TOTAL) {
          const i = next++;
          final[i] = await one(i);
          if (++completed === 300 && !killed) {
            killed = true;
            await victim.stop("SIGKILL");
          }
        }
      };
      await Promise.all(Array.from({ length: 16 }, worker));
      expect(killed).toBe(true);
      expect(victim.running).toBe(false);
      // Requests in flight on the killed node failed and were sent again with their keys.
      expect(retried).toBeGreaterThan(0);

      const statuses = final.map((r) => r.status);
      expect(statuses.filter((s) => s !== 201)).toEqual([]);
      const ids = final.map((r) => r.body.id);
      expect(new Set(ids).size).toBe(TOTAL);
      await waitFor(
        "every order's saga to finish",
        async () =>
          (await db
            .collection("orders")
            .countDocuments({ "items.productId": p.id, step: { $ne: "done" } })) === 0,
        60_000,
        500,
      );
      const orders = await db.collection("orders").find({ kind: "order", "items.productId": p.id }).toArray();
      expect(orders).toHaveLength(TOTAL);
      expect(orders.filter((o: any) => o.status !== "confirmed")).toEqual([]);
      const payments = await db
        .collection("payments")
        .find({ orderId: { $in: orders.map((o: any) => o._id) } })
        .toArray();
      expect(payments).toHaveLength(TOTAL);
      expect(new Set(payments.map((x: any) => x.orderId)).size).toBe(TOTAL);
      expect(payments.every((x: any) => x.status === "succeeded")).toBe(true);
      const stock = await level(p.id);
      expect(stock.reserved).toBe(0);
      expect(stock.available + stock.reserved + (await sold(p.id))).toBe(INITIAL);
      expect(await sold(p.id)).toBe(TOTAL);
      console.log(`1,000 orders with a node SIGKILLed: ${attempts} requests, ${retried} retries`);
    }, 600_000);

    it("should complete or compensate an order whose orders node died after reserving, once a node starts again", async () => {
      for (const n of orderNodes.filter((n) => n.running)) await n.stop("SIGTERM");
      await waitFor("no orders node to be left", async () => ordersNodesUp() === 0, 30_000);
      const faulty = await startOrders("orders-faulty", { FAULT_CRASH_AFTER: "inventory.reserve" });
      await waitFor("the faulty orders node to be discovered", async () => ordersNodesUp() === 1, 30_000);
      const p = await product(10);
      const res = await place(users[2], orderBody(p.id, 3), undefined, 30_000).catch((err) => ({
        status: 0,
        body: String(err),
      }));
      expect(res.status === 0 || res.status >= 500).toBe(true);
      await waitFor("the faulty node to have exited", async () => !faulty.running, 30_000);
      expect(faulty.proc?.signalCode).toBe("SIGKILL");
      const [stalled]: any[] = await db
        .collection("orders")
        .find({ kind: "order", "items.productId": p.id })
        .toArray();
      expect(stalled).toMatchObject({ status: "pending", step: "reserve" });
      expect(await level(p.id)).toMatchObject({ available: 7, reserved: 3 });

      await startOrders("orders3");
      await waitFor(
        "recovery to finish the order",
        async () => (await db.collection("orders").findOne({ _id: stalled._id }))?.step === "done",
        60_000,
        500,
      );
      const order: any = await db.collection("orders").findOne({ _id: stalled._id });
      expect(["confirmed", "payment_failed"]).toContain(order.status);
      const stock = await level(p.id);
      expect(stock.reserved).toBe(0);
      expect(stock.available + (await sold(p.id))).toBe(10);
      expect(await db.collection("payments").countDocuments({ orderId: stalled._id })).toBe(1);
      // The gateway may still route to the dead node until its heartbeat times out.
      const seen = await waitFor(
        "the order to be served by the new node",
        async () => {
          const res = await http("GET", `/api/orders/${stalled._id}`, undefined, users[2].token);
          return res.status === 200 && res;
        },
        30_000,
      );
      expect(seen.body).toMatchObject({ id: stalled._id, status: order.status });
    }, 180_000);
  },
);
