/**
 * Stock per variant on the real services (API.md "Variants and options"): orders on two nodes,
 * inventory and the catalogue on their own, over NATS and the MongoDB API.
 */
import type { ServiceBroker } from "moleculer";
import { ALL_SERVICES } from "../../lib/config";
import { observer, waitForServices } from "../support/broker";
import { Cluster, describeE2E, waitFor } from "../support/cluster";
import { jsonClient } from "../support/http";

const ADMIN = { email: "variants-e2e@shop.test", password: "variants-e2e-password" };
const ADDRESS = { name: "Vic", line1: "3 Hill Rd", city: "Ogdenville", postalCode: "67890", country: "US" };
const USERS = 10;
const OWN_NODES = ["api", "products", "inventory", "orders"];
// The driver moleculer-db-adapter-mongo brings (3.x) has no type declarations.
const { MongoClient } = require("mongodb");

describeE2E("variants on a cluster: two orders nodes selling one variant of a product", () => {
  let cluster: Cluster;
  let obs: ServiceBroker;
  let mongo: any;
  let db: any;
  let adminToken: string;
  const users: { token: string }[] = [];
  const common = {
    RATE_LIMIT_PER_MINUTE: "10000000",
    AUTH_RATE_LIMIT_PER_MINUTE: "100000",
    ACCESS_TOKEN_TTL: "3600",
    CHECKOUT_LEASE_SECONDS: "5",
    LOG_LEVEL: "warn",
  };
  const http = jsonClient(() => cluster.baseUrl);
  const level = (id: string) => http("GET", `/api/inventory/${id}`, undefined, adminToken);

  beforeAll(async () => {
    cluster = new Cluster();
    await cluster.add("gateway", ["api"], common);
    await cluster.add("catalog", ["products"], common);
    await cluster.add("inventory", ["inventory"], common);
    await cluster.add("orders1", ["orders"], common);
    await cluster.add("orders2", ["orders"], common);
    await cluster.add(
      "rest",
      ALL_SERVICES.filter((s) => !OWN_NODES.includes(s)),
      { ...common, ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password },
    );
    await cluster.waitReady(90_000);
    obs = await observer(cluster);
    await waitForServices(obs, cluster, { orders: 2 });
    mongo = await MongoClient.connect(cluster.env([]).MONGO_URI, { useUnifiedTopology: true } as any);
    db = mongo.db(cluster.namespace);
    const login = await http("POST", "/api/user/login", ADMIN);
    expect(login.status).toBe(200);
    adminToken = login.body.accessToken;
    for (let i = 0; i < USERS; i++) {
      const res = await http("POST", "/api/user/signup", {
        email: `variants-buyer-${i}-${cluster.namespace}@shop.test`,
        password: "buyer-password",
        name: `Buyer ${i}`,
      });
      expect(res.status).toBe(201);
      users.push({ token: res.body.accessToken });
    }
  }, 180_000);

  afterAll(async () => {
    await mongo?.close();
    await obs?.stop();
    await cluster?.stopAll();
  });

  it("should sell exactly 50 of 200 concurrent orders for one variant with stock 50, leaving the product's other variants untouched", async () => {
    const created = await http(
      "POST",
      "/api/products",
      {
        name: `Tee ${cluster.namespace}`,
        price: 1500,
        options: [{ name: "Size", values: ["S", "M", "L"] }],
        variants: [
          { sku: `TEE-${cluster.namespace}-S`, options: { Size: "S" }, stock: 7 },
          { sku: `TEE-${cluster.namespace}-M`, options: { Size: "M" }, stock: 50 },
          { sku: `TEE-${cluster.namespace}-L`, options: { Size: "L" }, price: 1700, stock: 4 },
        ],
      },
      adminToken,
    );
    expect(created.status).toBe(201);
    const product = created.body;
    const [s, m, l] = product.variants;

    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        http(
          "POST",
          "/api/orders",
          {
            items: [{ variantId: m.id, quantity: 1 }],
            payment: { method: "card", token: "tok_visa" },
            shippingAddress: ADDRESS,
          },
          users[i % USERS].token,
        ),
      ),
    );
    const by = (status: number) => results.filter((r) => r.status === status);
    expect(results.filter((r) => r.status >= 500)).toEqual([]);
    expect([by(201).length, by(409).length]).toEqual([50, 150]);
    for (const r of by(409))
      expect(r.body).toMatchObject({
        type: "INSUFFICIENT_STOCK",
        data: { productIds: [product.id], variantIds: [m.id] },
      });
    for (const r of by(201))
      expect(r.body.items).toEqual([
        expect.objectContaining({ productId: product.id, variantId: m.id, sku: m.sku, variantTitle: "M" }),
      ]);
    const ids = by(201).map((r) => r.body.id);
    expect(new Set(ids).size).toBe(50);
    expect(
      await db.collection("payments").countDocuments({ orderId: { $in: ids }, status: "succeeded" }),
    ).toBe(50);

    expect((await level(m.id)).body).toEqual({ productId: m.id, available: 0, reserved: 0 });
    expect((await level(s.id)).body).toEqual({ productId: s.id, available: 7, reserved: 0 });
    expect((await level(l.id)).body).toEqual({ productId: l.id, available: 4, reserved: 0 });
    expect((await level(product.id)).body).toEqual({
      productId: product.id,
      available: 11,
      reserved: 0,
      variants: [
        { variantId: s.id, sku: s.sku, available: 7, reserved: 0 },
        { variantId: m.id, sku: m.sku, available: 0, reserved: 0 },
        { variantId: l.id, sku: l.sku, available: 4, reserved: 0 },
      ],
    });
  });

  it("should filter, count facets and keep SKUs unique across products and variants on the MongoDB API", async () => {
    const ns = cluster.namespace;
    const category = `facets-${ns}`;
    const shirt = (sku: string, variants: object[]) =>
      http(
        "POST",
        "/api/products",
        {
          name: `Shirt ${sku}`,
          price: 2000,
          category,
          sku,
          options: [
            { name: "Size", values: ["S", "M"] },
            { name: "Color", values: ["Red", "Blue"] },
          ],
          variants,
        },
        adminToken,
      );
    const v = (sku: string, Size: string, Color: string, stock = 0) => ({
      sku,
      options: { Size, Color },
      stock,
    });
    expect(
      (await shirt(`A-${ns}`, [v(`A-${ns}-SR`, "S", "Red", 2), v(`A-${ns}-MB`, "M", "Blue")])).status,
    ).toBe(201);
    expect((await shirt(`B-${ns}`, [v(`B-${ns}-MR`, "M", "Red")])).status).toBe(201);
    // One unique index over every SKU: a variant's SKU is taken for any other product or variant.
    const dup = await shirt(`C-${ns}`, [v(`A-${ns}-SR`, "S", "Red")]);
    expect([dup.status, dup.body.type]).toEqual([409, "SKU_TAKEN"]);

    const list = async (query: string) =>
      (await http("GET", `/api/products?category=${category}&sort=name&${query}`)).body.rows.map(
        (r: any) => r.sku,
      );
    expect(await list("option.Size=M&option.Color=Red")).toEqual([`B-${ns}`]);
    expect(await list("option.Size=M")).toEqual([`A-${ns}`, `B-${ns}`]);
    await waitFor("the inStock flag from inventory", async () => (await list("inStock=true")).length === 1);
    expect(await list("inStock=true")).toEqual([`A-${ns}`]);

    const facets = await http("GET", `/api/products/facets?category=${category}`);
    expect(facets.body).toEqual({
      categories: [{ value: category, count: 2 }],
      options: {
        Size: [
          { value: "M", count: 2 },
          { value: "S", count: 1 },
        ],
        Color: [
          { value: "Red", count: 2 },
          { value: "Blue", count: 1 },
        ],
      },
      price: { min: 2000, max: 2000 },
    });
  });
});
