import type { ServiceBroker } from "moleculer";
import type { EventEnvelope } from "../../contracts";
import { ALL_SERVICES } from "../../lib/config";
import { callsServed, member, observer } from "../support/broker";
import { Cluster, describeE2E, freePort, waitFor, type NodeProcess } from "../support/cluster";

const ADMIN = { email: "catalog-e2e@shop.test", password: "catalog-e2e-password" };
const TTL_SECONDS = 10;

describeE2E(
  "the catalogue on a cluster: two gateways with Redis, inventory on two nodes, MongoDB API",
  () => {
    let cluster: Cluster;
    let inv1: NodeProcess;
    let inv2: NodeProcess;
    let obs: ServiceBroker;
    let listener: ServiceBroker;
    let gw2Base: string;
    let token: string;
    const events: EventEnvelope[] = [];

    const http = async (base: string, method: string, url: string, body?: unknown) => {
      const res = await fetch(base + url, {
        method,
        headers: {
          ...(body !== undefined ? { "content-type": "application/json" } : {}),
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: body !== undefined ? JSON.stringify(body) : undefined,
        signal: AbortSignal.timeout(30_000),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    };
    const gw1 = (method: string, url: string, body?: unknown) => http(cluster.baseUrl, method, url, body);
    const gw2 = (method: string, url: string, body?: unknown) => http(gw2Base, method, url, body);
    const level = (productId: string) => obs.call("inventory.get", { productId }) as Promise<any>;
    const reserve = (orderId: string, lines: Array<[string, number]>, nodeID?: string) =>
      obs.call(
        "inventory.reserve",
        { orderId, lines: lines.map(([productId, quantity]) => ({ productId, quantity })) },
        { nodeID },
      ) as Promise<any>;
    const createProduct = async (body: Record<string, unknown>) => {
      const res = await gw1("POST", "/api/products", body);
      expect(res.status).toBe(201);
      return res.body;
    };

    beforeAll(async () => {
      cluster = new Cluster();
      const common = {
        REDIS_URL: cluster.infra.REDIS_URL,
        RATE_LIMIT_PER_MINUTE: "1000000",
        RESERVATION_TTL_SECONDS: String(TTL_SECONDS),
      };
      // The gateways are ready only when every service they route to is up: the others run here.
      const others = ALL_SERVICES.filter((svc) => !["api", "products", "inventory"].includes(svc));
      await cluster.add("others", others, {
        ...common,
        ADMIN_EMAIL: ADMIN.email,
        ADMIN_PASSWORD: ADMIN.password,
      });
      await cluster.add("gw1", ["api", "products"], common);
      const port2 = await freePort();
      gw2Base = `http://127.0.0.1:${port2}`;
      await cluster.add("gw2", ["api", "products"], { ...common, PORT: String(port2) });
      // METRICS: each inventory node counts the calls it served, to show both took reservations.
      inv1 = await cluster.add("inv1", ["inventory"], { ...common, METRICS: "1" });
      inv2 = await cluster.add("inv2", ["inventory"], { ...common, METRICS: "1" });
      await cluster.waitReady(60_000);
      await waitFor(
        "the second gateway to be ready",
        async () => (await fetch(`${gw2Base}/health/ready`).catch(() => undefined))?.status === 200,
        60_000,
      );
      obs = await observer(cluster);
      listener = await member(cluster, [
        {
          name: "catalog-e2e-listener",
          channels: Object.fromEntries(
            ["product.created", "product.updated", "product.deleted"].map((ch) => [
              ch,
              { group: "catalog-e2e", handler: (ctx: any) => void events.push(ctx.params) },
            ]),
          ),
        },
      ]);
      await waitFor("both inventory nodes to be discovered", async () => {
        const nodes = obs.registry
          .getServiceList({ onlyAvailable: true })
          .filter((s: any) => s.name === "inventory");
        return nodes.length === 2;
      }).catch((err) => {
        // Seen twice on freshly started infra, never alone: say which node and why, next time.
        const state = (n: typeof inv1) => `${n.nodeID} running=${n.running}\n${n.output.slice(-3000)}`;
        throw new Error(`${err.message}\n----- ${state(inv1)}\n----- ${state(inv2)}`);
      });
      const login = await gw1("POST", "/api/user/login", ADMIN);
      expect(login.status).toBe(200);
      token = login.body.accessToken;
    }, 120_000);

    afterAll(async () => {
      await listener?.stop();
      await obs?.stop();
      await cluster?.stopAll();
    });

    it("should read a price change written through one gateway fresh through the other", async () => {
      const p = await createProduct({ name: "Kettle", price: 3000, category: "kitchen", stock: 4 });
      for (let price = 3100; price <= 3500; price += 100) {
        // Both gateways' products nodes have read (and cached) the old price.
        expect((await gw2("GET", `/api/products/${p.id}`)).body.price).toBe(price - 100);
        expect((await gw2("GET", "/api/products?category=kitchen")).body.rows[0].price).toBe(price - 100);
        expect((await gw1("GET", `/api/products/${p.id}`)).body.price).toBe(price - 100);

        expect((await gw1("PATCH", `/api/products/${p.id}`, { price })).status).toBe(200);

        expect((await gw2("GET", `/api/products/${p.id}`)).body.price).toBe(price);
        expect((await gw2("GET", "/api/products?category=kitchen")).body.rows[0].price).toBe(price);
      }
      // Found by Schemathesis: a NUL in the search text failed the MongoDB query with 500.
      expect((await gw1("GET", "/api/products?q=ket%00tle")).body.total).toBe(0);
      expect((await gw2("PUT", `/api/inventory/${p.id}`, { available: 11 })).status).toBe(200);
      expect((await gw1("GET", `/api/products/${p.id}`)).body.available).toBe(11);
      // A reservation (inventory node, no gateway involved) shows at once too.
      await reserve("cache-check", [[p.id, 2]]);
      expect((await gw2("GET", `/api/products/${p.id}`)).body.available).toBe(9);
      expect((await gw1("GET", "/api/products?category=kitchen")).body.rows[0].available).toBe(9);
    });

    it("should let exactly 50 of 500 concurrent reserve calls of 1 unit, spread over both inventory nodes, take a stock of 50", async () => {
      const p = await createProduct({ name: "Hot item", price: 100, category: "hot", stock: 50 });
      const before = [
        await callsServed(obs, inv1.nodeID, "inventory.reserve"),
        await callsServed(obs, inv2.nodeID, "inventory.reserve"),
      ];
      const seen: number[] = [];
      let running = true;
      const watch = (async () => {
        while (running) seen.push((await level(p.id)).available);
      })();
      const results = await Promise.allSettled(
        Array.from({ length: 500 }, (_, i) => reserve(`hot-${i}`, [[p.id, 1]])),
      );
      running = false;
      await watch;
      const after = [
        await callsServed(obs, inv1.nodeID, "inventory.reserve"),
        await callsServed(obs, inv2.nodeID, "inventory.reserve"),
      ];
      expect(after[0] - before[0]).toBeGreaterThan(100);
      expect(after[1] - before[1]).toBeGreaterThan(100);

      const refused = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
      expect(refused.map((r) => r.reason.type).filter((t) => t !== "INSUFFICIENT_STOCK")).toEqual([]);
      expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(50);
      expect(await level(p.id)).toEqual({ productId: p.id, available: 0, reserved: 50 });
      expect(Math.min(...seen)).toBeGreaterThanOrEqual(0);
    }, 120_000);

    it("should leave nothing reserved when the last of three lines lacks stock", async () => {
      const [a, b, c] = await Promise.all([
        createProduct({ name: "Line A", price: 1, stock: 5 }),
        createProduct({ name: "Line B", price: 1, stock: 5 }),
        createProduct({ name: "Line C", price: 1, stock: 1 }),
      ]);
      await expect(
        reserve("three-lines", [
          [a.id, 2],
          [b.id, 3],
          [c.id, 2],
        ]),
      ).rejects.toMatchObject({ type: "INSUFFICIENT_STOCK", data: { productId: c.id } });
      for (const [p, n] of [
        [a, 5],
        [b, 5],
        [c, 1],
      ] as const)
        expect(await level(p.id)).toEqual({ productId: p.id, available: n, reserved: 0 });
    });

    it("should decrement once for one orderId sent to both inventory nodes at once", async () => {
      const p = await createProduct({ name: "Twice", price: 1, stock: 10 });
      const answers = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          reserve("same-order", [[p.id, 4]], i % 2 ? inv1.nodeID : inv2.nodeID),
        ),
      );
      expect(new Set(answers.map((a) => a.state))).toEqual(new Set(["reserved"]));
      expect(await level(p.id)).toEqual({ productId: p.id, available: 6, reserved: 4 });
    });

    it("should give an expired reservation's stock back once, with the sweeper running on both nodes", async () => {
      const p = await createProduct({ name: "Expiring", price: 1, stock: 8 });
      await reserve("expiring", [[p.id, 3]]);
      expect(await level(p.id)).toMatchObject({ available: 5, reserved: 3 });
      await waitFor(
        "the reservation to expire",
        async () => (await level(p.id)).reserved === 0,
        (TTL_SECONDS + 15) * 1000,
        500,
      );
      expect(await level(p.id)).toEqual({ productId: p.id, available: 8, reserved: 0 });
    }, 60_000);

    it("should publish product events with the Kafka table's data, and keep inventory in step", async () => {
      const p = await createProduct({ name: "Evented", price: 700, category: "ev", sku: "E2E-EV-1" });
      expect((await gw1("PATCH", `/api/products/${p.id}`, { price: 650 })).status).toBe(200);
      expect((await gw2("DELETE", `/api/products/${p.id}`)).status).toBe(204);
      await waitFor("three events", async () => events.filter((e) => e.key === p.id).length >= 3);
      const mine = events.filter((e) => e.key === p.id);
      expect(mine.map((e) => e.type)).toEqual(["product.created", "product.updated", "product.deleted"]);
      expect(mine[1].data).toEqual({
        productId: p.id,
        sku: "E2E-EV-1",
        name: "Evented",
        price: 650,
        currency: "USD",
        category: "ev",
        active: true,
        variants: [{ variantId: p.id, sku: "E2E-EV-1", price: 650, active: true }],
      });
      await waitFor(
        "inventory to drop the deleted product",
        async () => (await gw1("GET", `/api/inventory/${p.id}`)).status === 404,
      );
      expect((await gw2("GET", `/api/products/${p.id}`)).status).toBe(404);
    });
  },
);
