/**
 * A promotion's usageLimit under concurrency, on the real services: two orders nodes, pricing on
 * its own node, over NATS and the MongoDB API. 40 buyers order at once with a code limited to 5
 * uses: exactly 5 orders get the discount, the other 35 are refused with 409 PROMOTION_EXHAUSTED
 * before any stock is held; a cancelled order gives its use back.
 */
import type { ServiceBroker } from "moleculer";
import { ALL_SERVICES } from "../../lib/config";
import { callsServed, observer, waitForServices } from "../support/broker";
import { Cluster, describeE2E } from "../support/cluster";
import { jsonClient } from "../support/http";

const ADMIN = { email: "pricing-e2e@shop.test", password: "pricing-e2e-password" };
const ADDRESS = { name: "Eve", line1: "2 Side St", city: "Berlin", postalCode: "10115", country: "DE" };
const BUYERS = 40;
const LIMIT = 5;
const OWN_NODES = ["api", "users", "tokens", "products", "inventory", "pricing", "orders"];

describeE2E("promotion usage limits on a cluster: two orders nodes over NATS and the MongoDB API", () => {
  let cluster: Cluster;
  let obs: ServiceBroker;
  let admin: string;
  const buyers: string[] = [];
  const common = {
    RATE_LIMIT_PER_MINUTE: "10000000",
    AUTH_RATE_LIMIT_PER_MINUTE: "100000",
    ACCESS_TOKEN_TTL: "3600",
    CHECKOUT_LEASE_SECONDS: "5",
    LOG_LEVEL: "warn",
  };
  const http = jsonClient(() => cluster.baseUrl, 60_000);
  const asAdmin = (method: string, path: string, body?: unknown) => http(method, path, body, admin);
  const usage = async (id: string) =>
    (await asAdmin("GET", "/api/promotions?pageSize=100")).body.rows.find((p: any) => p.id === id).usageCount;

  beforeAll(async () => {
    cluster = new Cluster();
    await cluster.add("identity", ["users", "tokens"], {
      ...common,
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
    });
    await cluster.add("gateway", ["api"], common);
    await cluster.add("catalog", ["products", "inventory"], common);
    await cluster.add("pricing", ["pricing"], common);
    await cluster.add("orders1", ["orders"], { ...common, METRICS: "1" });
    await cluster.add("orders2", ["orders"], { ...common, METRICS: "1" });
    await cluster.add(
      "rest",
      ALL_SERVICES.filter((s) => !OWN_NODES.includes(s)),
      common,
    );
    await cluster.waitReady(90_000);
    obs = await observer(cluster);
    await waitForServices(obs, cluster, { orders: 2 });
    admin = (await http("POST", "/api/user/login", ADMIN)).body.accessToken;
    for (let i = 0; i < BUYERS + 1; i++) {
      const res = await http("POST", "/api/user/signup", {
        email: `pricing-e2e-${i}-${cluster.namespace}@shop.test`,
        password: "buyer-password",
        name: `Buyer ${i}`,
      });
      expect(res.status).toBe(201);
      buyers.push(res.body.accessToken);
    }
  }, 240_000);

  afterAll(async () => {
    await obs?.stop();
    await cluster?.stopAll();
  });

  it("should give a code limited to 5 uses to exactly 5 of 40 concurrent orders, and a cancelled order's use to the next", async () => {
    const region = await asAdmin("POST", "/api/regions", {
      name: "Germany",
      currency: "EUR",
      countries: ["DE"],
      taxRate: 1900,
    });
    expect(region.status).toBe(201);
    const option = await asAdmin("POST", "/api/shipping-options", {
      name: "DHL",
      regionId: region.body.id,
      amount: 490,
    });
    const promo = await asAdmin("POST", "/api/promotions", {
      code: "FIVE",
      type: "percentage",
      value: 20,
      usageLimit: LIMIT,
    });
    expect(promo.status).toBe(201);
    const product = await asAdmin("POST", "/api/products", {
      name: "Limited",
      price: 1500,
      prices: { EUR: 1250 },
      stock: 100,
    });
    const body = {
      items: [{ productId: product.body.id, quantity: 1 }],
      payment: { method: "card", token: "tok_visa" },
      shippingAddress: ADDRESS,
      shippingOptionId: option.body.id,
      promotionCode: "five",
    };

    const results = await Promise.all(
      buyers.slice(0, BUYERS).map((token) => http("POST", "/api/orders", body, token)),
    );
    const by = (s: number) => results.filter((r) => r.status === s);
    expect(results.filter((r) => ![201, 409].includes(r.status)).map((r) => [r.status, r.text])).toEqual([]);
    expect([by(201).length, by(409).length]).toEqual([LIMIT, BUYERS - LIMIT]);
    // 1250 - 250 discount + 490 shipping = 1490; tax roundHalfUp(1490 × 1900 / 10000) = 283.1 -> 283
    for (const r of by(201))
      expect(r.body).toMatchObject({
        status: "confirmed",
        promotionCode: "FIVE",
        subtotal: 1250,
        discountTotal: 250,
        shippingTotal: 490,
        taxTotal: 283,
        total: 1773,
      });
    for (const r of by(409)) expect(r.body).toMatchObject({ code: 409, type: "PROMOTION_EXHAUSTED" });
    expect(await usage(promo.body.id)).toBe(LIMIT);
    // No stock held for the refused ones: only the five are sold.
    expect(await obs.call("inventory.get", { productId: product.body.id })).toMatchObject({
      available: 100 - LIMIT,
      reserved: 0,
    });
    // Both orders nodes took part.
    for (const node of ["orders1", "orders2"])
      expect(await callsServed(obs, `${cluster.namespace}-${node}`, "orders.place")).toBeGreaterThan(0);

    const [first] = by(201);
    expect((await asAdmin("POST", `/api/orders/${first.body.id}/cancel`)).body.status).toBe("cancelled");
    expect(await usage(promo.body.id)).toBe(LIMIT - 1);
    const again = await http("POST", "/api/orders", body, buyers[BUYERS]);
    expect(again.body).toMatchObject({ status: "confirmed", discountTotal: 250, total: 1773 });
    expect(await usage(promo.body.id)).toBe(LIMIT);
    expect((await http("POST", "/api/orders", body, buyers[1])).body).toMatchObject({
      type: "PROMOTION_EXHAUSTED",
    });
  }, 180_000);
});
