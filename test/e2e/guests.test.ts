import type { ServiceBroker } from "moleculer";
import { ALL_SERVICES } from "../../lib/config";
import { callsServed, observer, waitForServices } from "../support/broker";
import { Cluster, describeE2E, waitFor, type NodeProcess } from "../support/cluster";
import { jsonClient } from "../support/http";
import { TopicReader } from "../support/kafka";
import { Mailpit } from "../support/mailpit";

const ADMIN = { email: "guests-e2e@shop.test", password: "guests-e2e-password" };
const ADDRESS = {
  name: "Gwen Guest",
  line1: "7 Guest Row",
  city: "Ogdenville",
  postalCode: "77777",
  country: "US",
};
const GUESTS = 50;
const PASSWORD = "buyer-password";
// The driver moleculer-db-adapter-mongo brings (3.x) has no type declarations.
const { MongoClient } = require("mongodb");
const OWN_NODES = ["api", "users", "tokens", "orders", "notifications"];

describeE2E(
  "guests on a cluster: guest carts and checkout across two orders nodes, merge on sign-in, erasure, over NATS, the MongoDB API, Mailpit and Kafka",
  () => {
    let cluster: Cluster;
    let obs: ServiceBroker;
    let mongo: any;
    let db: any;
    let mail: Mailpit;
    let reader: TopicReader;
    let adminToken: string;
    const orderNodes: NodeProcess[] = [];
    /** Every secret and address the suite handed out: none may show in any node's log. */
    const secrets: string[] = [];
    const common = {
      RATE_LIMIT_PER_MINUTE: "10000000",
      AUTH_RATE_LIMIT_PER_MINUTE: "100000",
      GUEST_CART_RATE_LIMIT_PER_MINUTE: "100000",
      ACCESS_TOKEN_TTL: "3600",
      LOG_LEVEL: "info",
    };

    const http = jsonClient(() => cluster.baseUrl);
    const guest = (cartToken: string) => ({ "x-cart-token": cartToken });
    const newCart = async () => {
      const res = await http("POST", "/api/carts");
      expect(res.status).toBe(201);
      secrets.push(res.body.cartToken);
      return res.body.cartToken as string;
    };
    const product = async (stock: number, price = 1000) => {
      const res = await http(
        "POST",
        "/api/products",
        { name: `Guest E2E ${Date.now()}`, price, stock },
        adminToken,
      );
      expect(res.status).toBe(201);
      return res.body;
    };
    const quantities = (cart: any) =>
      Object.fromEntries(cart.items.map((l: any) => [l.productId, l.quantity]));

    beforeAll(async () => {
      cluster = new Cluster();
      await cluster.add("identity", ["users", "tokens"], {
        ...common,
        ADMIN_EMAIL: ADMIN.email,
        ADMIN_PASSWORD: ADMIN.password,
      });
      await cluster.add("gateway", ["api"], common);
      for (const name of ["orders1", "orders2"]) orderNodes.push(await cluster.add(name, ["orders"], common));
      await cluster.add("notifications", ["notifications"], common);
      await cluster.add(
        "rest",
        ALL_SERVICES.filter((s) => !OWN_NODES.includes(s)),
        common,
      );
      await cluster.waitReady(90_000);
      obs = await observer(cluster);
      await waitForServices(obs, cluster, { orders: 2 });
      mongo = await MongoClient.connect(cluster.env([]).MONGO_URI, { useUnifiedTopology: true } as any);
      db = mongo.db(cluster.namespace);
      mail = new Mailpit(cluster.infra.MAILPIT_URL);
      reader = new TopicReader(cluster.infra.KAFKA_BROKERS);
      await reader.start(["user_deleted"]);
      const login = await http("POST", "/api/user/login", ADMIN);
      expect(login.status).toBe(200);
      adminToken = login.body.accessToken;
    }, 180_000);

    afterAll(async () => {
      await reader?.stop();
      await mongo?.close();
      await obs?.stop();
      await cluster?.stopAll();
    });

    it(`should take ${GUESTS} concurrent guest checkouts on two orders nodes and mail each guest its own confirmation`, async () => {
      const p = await product(GUESTS * 2, 1999);
      const placedBefore = await Promise.all(
        orderNodes.map((n) => callsServed(obs, n.nodeID, "orders.place")),
      );
      const guests = Array.from({ length: GUESTS }, (_, i) => ({
        email: `guest-${i}-${cluster.namespace}@shop.test`,
      }));
      secrets.push(...guests.map((g) => g.email));
      const results = await Promise.all(
        guests.map(async (g) => {
          const cartToken = await newCart();
          const added = await http(
            "POST",
            "/api/cart/items",
            { productId: p.id, quantity: 2 },
            undefined,
            guest(cartToken),
          );
          expect(added.status).toBe(200);
          const res = await http(
            "POST",
            "/api/orders",
            { payment: { method: "card", token: "tok_visa" }, shippingAddress: ADDRESS, email: g.email },
            undefined,
            guest(cartToken),
          );
          if (res.body?.orderToken) secrets.push(res.body.orderToken);
          return { ...g, cartToken, res };
        }),
      );
      expect(results.map((r) => r.res.status)).toEqual(Array(GUESTS).fill(201));
      expect(new Set(results.map((r) => r.res.body.id)).size).toBe(GUESTS);
      for (const r of results)
        expect(r.res.body).toMatchObject({ userId: null, email: r.email, total: 3998, status: "confirmed" });
      const placedAfter = await Promise.all(
        orderNodes.map((n) => callsServed(obs, n.nodeID, "orders.place")),
      );
      // Both orders nodes took part in the checkouts.
      expect(placedAfter.map((n, i) => n - placedBefore[i] > 0)).toEqual([true, true]);
      const stored = await db.collection("orders").find({ kind: "order", "items.productId": p.id }).toArray();
      expect(stored).toHaveLength(GUESTS);
      expect(
        stored.every((o: any) => o.userId === null && o.orderTokenHash && !JSON.stringify(o).includes("go_")),
      ).toBe(true);
      // Each guest's cart is empty after its checkout, and its token still works.
      const cart = await http("GET", "/api/cart", undefined, undefined, guest(results[0].cartToken));
      expect(cart).toMatchObject({ status: 200, body: { items: [] } });

      await waitFor(
        "every guest's confirmation in Mailpit",
        async () => (await Promise.all(guests.map((g) => mail.to(g.email)))).every((m) => m.length > 0),
        90_000,
        1000,
      );
      for (const r of results) {
        const messages = await mail.to(r.email);
        expect(messages.map((m) => m.Subject)).toEqual([`Your order ${r.res.body.id} is confirmed`]);
      }
      const one = await mail.to(results[0].email);
      expect(await mail.text(one[0].ID)).toContain(`Hello ${ADDRESS.name}`);

      // The guest reads its order with its order token, and nobody reads it with another's.
      const [a, b] = results;
      const read = await http("GET", `/api/orders/${a.res.body.id}`, undefined, undefined, {
        "x-order-token": a.res.body.orderToken,
      });
      expect(read.status).toBe(200);
      const crossed = await http("GET", `/api/orders/${a.res.body.id}`, undefined, undefined, {
        "x-order-token": b.res.body.orderToken,
      });
      expect(crossed.status).toBe(404);
    }, 240_000);

    it("should show a guest that signs in with its cart token the merged cart, and refuse that token afterwards", async () => {
      const [a, b] = [await product(100), await product(100)];
      const email = `merger-${cluster.namespace}@shop.test`;
      secrets.push(email);
      const signup = await http("POST", "/api/user/signup", { email, password: PASSWORD, name: "Merger" });
      expect(signup.status).toBe(201);
      await http("POST", "/api/cart/items", { productId: a.id, quantity: 3 }, signup.body.accessToken);
      const cartToken = await newCart();
      await http("POST", "/api/cart/items", { productId: a.id, quantity: 4 }, undefined, guest(cartToken));
      await http("POST", "/api/cart/items", { productId: b.id, quantity: 1 }, undefined, guest(cartToken));
      const login = await http("POST", "/api/user/login", { email, password: PASSWORD, cartToken });
      expect(login.status).toBe(200);
      const cart = await http("GET", "/api/cart", undefined, login.body.accessToken);
      expect(quantities(cart.body)).toEqual({ [a.id]: 7, [b.id]: 1 });
      expect(cart.body.subtotal).toBe(8000);
      expect((await http("GET", "/api/cart", undefined, undefined, guest(cartToken))).status).toBe(401);
      // A retried sign-in adds nothing again.
      expect((await http("POST", "/api/user/login", { email, password: PASSWORD, cartToken })).status).toBe(
        200,
      );
      expect(quantities((await http("GET", "/api/cart", undefined, login.body.accessToken)).body)).toEqual({
        [a.id]: 7,
        [b.id]: 1,
      });
    }, 60_000);

    it("should erase a user: no name, email or phone left in its MongoDB documents, its refresh tokens 401, user_deleted on Kafka", async () => {
      const me = {
        email: `erased-${cluster.namespace}@shop.test`,
        name: "Erin Erasable",
        phone: "+14155550142",
      };
      secrets.push(me.email);
      const signup = await http("POST", "/api/user/signup", { ...me, password: PASSWORD });
      expect(signup.status).toBe(201);
      const { accessToken, refreshToken, user } = signup.body;
      const second = (await http("POST", "/api/user/login", { email: me.email, password: PASSWORD })).body
        .refreshToken;
      const address = { ...ADDRESS, name: me.name, phone: me.phone };
      expect((await http("POST", "/api/user/addresses", address, accessToken)).status).toBe(201);
      const p = await product(10, 2500);
      const orders = [];
      for (let i = 0; i < 2; i++) {
        const res = await http(
          "POST",
          "/api/orders",
          { items: [{ productId: p.id, quantity: 1 }], payment: { method: "card", token: "tok_visa" } },
          accessToken,
          { "idempotency-key": `erase-${i}` },
        );
        expect(res.status).toBe(201);
        expect(res.body.shippingAddress.name).toBe(me.name);
        orders.push(res.body.id);
      }
      await waitFor(
        "the confirmations to be recorded",
        async () =>
          (await db.collection("deliveries").countDocuments({ userId: user.id, status: "sent" })) >= 3,
        60_000,
      );

      expect((await http("DELETE", "/api/user/me", { password: PASSWORD }, accessToken)).status).toBe(204);
      for (const t of [refreshToken, second])
        expect((await http("POST", "/api/refresh-token", { refreshToken: t })).status).toBe(401);

      const personal = [me.email, me.name, me.phone, ADDRESS.line1, ADDRESS.city, ADDRESS.postalCode];
      const holds = (doc: unknown) => personal.filter((v) => JSON.stringify(doc).includes(v));
      const ordersOf = () => db.collection("orders").find({ userId: user.id }).toArray();
      await waitFor(
        "the orders to be stripped",
        async () => (await ordersOf()).every((o: any) => !holds(o).length),
        60_000,
      );
      const stripped = await ordersOf();
      expect(
        stripped
          .filter((o: any) => o.kind === "order")
          .map((o: any) => o._id)
          .sort(),
      ).toEqual([...orders].sort());
      for (const o of stripped.filter((d: any) => d.kind === "order")) {
        expect(o.shippingAddress).toEqual({ country: ADDRESS.country });
        expect(o).toMatchObject({ total: 2500, currency: "USD", status: "confirmed" });
      }
      expect(holds(await db.collection("users").findOne({ _id: user.id }))).toEqual([]);
      await waitFor(
        "the deliveries to forget their addresses",
        async () => {
          const rows = await db.collection("deliveries").find({ userId: user.id }).toArray();
          return rows.length >= 3 && rows.every((d: any) => !holds(d).length);
        },
        60_000,
      );
      expect(await db.collection("carts").findOne({ _id: user.id })).toBeNull();
      const record = await waitFor(
        "user_deleted on Kafka",
        async () => reader.records.find((r) => r.topic === "user_deleted" && r.key === user.id),
        60_000,
      );
      expect(record.value).toMatchObject({ type: "user.deleted", data: { userId: user.id } });
      expect(Object.keys(record.value.data)).toEqual(["userId"]);
    }, 180_000);

    it("should write no cart token, order token or guest email to any node's log", () => {
      const logs = cluster.logs();
      expect(logs.length).toBeGreaterThan(0);
      expect(secrets.filter((s) => logs.includes(s))).toEqual([]);
    });
  },
);
