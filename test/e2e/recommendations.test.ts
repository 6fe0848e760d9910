/**
 * Recommendations and order risk on the real services (NATS JetStream, the MongoDB API, Kafka),
 * in one cluster: orders placed before any recommendations node exists are counted by one that
 * starts late (its consumer group starts at the stream's first event), new orders show within
 * 10 s, a node whose store was wiped rebuilds it from the stream, and a burst of orders from one
 * account with several cards is held (RISK_HOLD_LEVEL=high) and announced on Kafka.
 */
import { Cluster, describeE2E, waitFor, type NodeProcess } from "../support/cluster";
import { jsonClient } from "../support/http";
import { TopicReader } from "../support/kafka";

const ADMIN = { email: "recs-e2e@shop.test", password: "recs-e2e-password" };
const ADDRESS = { name: "Rae", line1: "3 Hill Rd", city: "Ogdenville", postalCode: "11111", country: "US" };
// The driver moleculer-db-adapter-mongo brings (3.x) has no type declarations.
const { MongoClient } = require("mongodb");

describeE2E("recommendations and order risk on a cluster over JetStream, the MongoDB API and Kafka", () => {
  let cluster: Cluster;
  let recsNode: NodeProcess | undefined;
  let mongo: any;
  let adminToken: string;
  let kafka: TopicReader;
  let seq = 0;
  const common = {
    RATE_LIMIT_PER_MINUTE: "10000000",
    AUTH_RATE_LIMIT_PER_MINUTE: "100000",
    ACCESS_TOKEN_TTL: "3600",
    LOG_LEVEL: "warn",
    RISK_HOLD_LEVEL: "high",
  };
  const http = jsonClient(() => cluster.baseUrl);
  const signup = async () => {
    const res = await http("POST", "/api/user/signup", {
      email: `recs-${++seq}-${cluster.namespace}@shop.test`,
      password: "buyer-password",
      name: `Buyer ${seq}`,
    });
    expect(res.status).toBe(201);
    return { token: res.body.accessToken as string, id: res.body.user.id as string };
  };
  const product = async (name: string, category: string) => {
    const res = await http("POST", "/api/products", { name, price: 1500, stock: 500, category }, adminToken);
    expect(res.status).toBe(201);
    return res.body;
  };
  const order = (token: string, productIds: string[], card = "tok_visa") =>
    http(
      "POST",
      "/api/orders",
      {
        items: productIds.map((productId) => ({ productId, quantity: 1 })),
        payment: { method: "card", token: card },
        shippingAddress: ADDRESS,
      },
      token,
    );
  const recommended = async (productId: string) => {
    const res = await http("GET", `/api/products/${productId}/recommendations`);
    return res.status === 200 ? res.body : undefined;
  };
  const startRecs = async () => (recsNode = await cluster.add("recs", ["recommendations"], common));

  beforeAll(async () => {
    cluster = new Cluster();
    await cluster.add(
      "core",
      [
        "api",
        "users",
        "tokens",
        "products",
        "inventory",
        "carts",
        "orders",
        "payments",
        "pricing",
        "notifications",
        "kafka-bridge",
      ],
      { ...common, ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password },
    );
    // Ready without any recommendations node: that service is optional (degraded).
    await cluster.waitReady(90_000);
    const login = await http("POST", "/api/user/login", ADMIN);
    expect(login.status).toBe(200);
    adminToken = login.body.accessToken;
    mongo = await MongoClient.connect(cluster.env([]).MONGO_URI, { useUnifiedTopology: true } as any);
    kafka = new TopicReader(cluster.infra.KAFKA_BROKERS);
    await kafka.start(["order_held"]);
  }, 180_000);

  afterAll(async () => {
    await kafka?.stop();
    await mongo?.close();
    await cluster?.stopAll();
  });

  let tent: any, stove: any, mat: any, lantern: any;

  it("should count orders placed before any recommendations node ran once one starts late", async () => {
    tent = await product("Tent", "camping");
    stove = await product("Stove", "camping");
    mat = await product("Mat", "camping");
    lantern = await product("Lantern", "camping");
    for (const basket of [[tent, stove], [tent, stove, mat], [tent, mat], [lantern]]) {
      const buyer = await signup();
      expect(
        (
          await order(
            buyer.token,
            basket.map((p) => p.id),
          )
        ).status,
      ).toBe(201);
    }
    expect((await http("GET", `/api/products/${tent.id}/recommendations`)).status).toBe(503);
    await startRecs();
    const body = await waitFor(
      "the late node to catch up",
      async () => {
        const r = await recommended(tent.id);
        return r?.strategy === "bought_together" && r.rows.length >= 2 ? r : undefined;
      },
      60_000,
    );
    expect(
      body.rows
        .slice(0, 2)
        .map((p: any) => p.id)
        .sort(),
    ).toEqual([stove.id, mat.id].sort());
    expect(body.rows.map((p: any) => p.id)).not.toContain(tent.id);
  });

  it("should reflect a new order within 10 s of its placement", async () => {
    const buyer = await signup();
    expect((await order(buyer.token, [lantern.id, stove.id])).status).toBe(201);
    const body = await waitFor(
      "the lantern's first co-purchase",
      async () => {
        const r = await recommended(lantern.id);
        return r?.strategy === "bought_together" ? r : undefined;
      },
      10_000,
    );
    expect(body.rows[0].id).toBe(stove.id);
    const mine = await http("GET", "/api/user/recommendations", undefined, buyer.token);
    expect(mine.status).toBe(200);
    expect(mine.body.rows.map((p: any) => p.id)).not.toEqual(expect.arrayContaining([lantern.id]));
    expect(mine.body.rows.map((p: any) => p.id)).not.toContain(stove.id);
    expect(mine.body.rows.map((p: any) => p.id)).toContain(tent.id);
  });

  it("should rebuild its counts from the stream when its store is empty", async () => {
    await recsNode!.stop();
    await mongo.db(cluster.namespace).collection("recommendations").deleteMany({});
    await startRecs();
    const body = await waitFor(
      "the counts rebuilt",
      async () => {
        const r = await recommended(tent.id);
        return r?.strategy === "bought_together" && r.rows.length >= 2 ? r : undefined;
      },
      60_000,
    );
    expect(
      body.rows
        .slice(0, 2)
        .map((p: any) => p.id)
        .sort(),
    ).toEqual([stove.id, mat.id].sort());
    const stored = await mongo
      .db(cluster.namespace)
      .collection("recommendations")
      .findOne({ _id: `i:${tent.id}` });
    // Counted once each, though every event was delivered to this group twice now.
    expect(stored.n).toBe(3);
  });

  it("should hold a burst of orders from one account with several cards, and say so on Kafka", async () => {
    const ordinary = await signup();
    const first = await order(ordinary.token, [tent.id]);
    expect(first.status).toBe(201);
    const tester = await signup();
    const answers: { status: number; body: any; card: string }[] = [];
    for (let i = 0; i < 12; i++) {
      const card = i % 2 ? "tok_visa" : "tok_chargeDeclined";
      const res = await order(tester.token, [mat.id], card);
      answers.push({ ...res, card });
      if (res.status === 202) break;
    }
    expect(answers.filter((a) => a.status >= 500)).toEqual([]);
    const held = answers.find((a) => a.status === 202);
    expect(held?.body).toMatchObject({ status: "on_hold", payment: { id: null } });
    expect(held!.body).not.toHaveProperty("risk");
    const seen = await http("GET", `/api/orders/${held!.body.id}`, undefined, adminToken);
    expect(seen.body.risk).toMatchObject({ level: "high", reasons: expect.any(Array) });
    const adminView = await http("GET", `/api/orders/${first.body.id}`, undefined, adminToken);
    expect(adminView.body.risk.level).not.toBe("high");
    const record = await waitFor(
      "order_held on Kafka",
      async () => kafka.records.find((r) => r.key === held!.body.id),
      30_000,
    );
    expect(record.value).toMatchObject({
      type: "order.held",
      data: { orderId: held!.body.id, userId: tester.id, risk: { level: "high" } },
    });
    const approved = await http(
      "POST",
      `/api/orders/${held!.body.id}/review`,
      { decision: "approve" },
      adminToken,
    );
    expect(approved.status).toBe(200);
    expect(approved.body.status).toBe(held!.card === "tok_visa" ? "confirmed" : "payment_failed");
  });
});
