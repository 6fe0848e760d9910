import { randomUUID } from "node:crypto";
import { Agent, request as httpRequest } from "node:http";
import type { ServiceBroker } from "moleculer";
import { ALL_SERVICES } from "../../lib/config";
import { observer } from "../support/broker";
import { Cluster, describeE2E, sleep, waitFor, type NodeProcess } from "../support/cluster";
import { jsonClient } from "../support/http";

const ADMIN = { email: "shutdown-e2e@shop.test", password: "shutdown-e2e-password" };
const ADDRESS = { name: "Sam", line1: "4 Dock Rd", city: "Ogdenville", postalCode: "67890", country: "US" };
const CLIENTS = 10;
const LOAD_MS = 8_000;
const SIGTERM_AFTER_MS = 2_000;
/** Placed on their own nodes; everything else runs on the "rest" node. */
const OWN_NODES = ["api", "users", "tokens", "products", "inventory", "payments", "orders", "kafka-bridge"];

/** Sends SIGTERM and measures how long the node takes to exit (SIGKILL after 15 s). */
async function sigterm(node: NodeProcess): Promise<{ code: number | null; ms: number }> {
  const t0 = Date.now();
  const code = await node.stop("SIGTERM", 15_000);
  return { code, ms: Date.now() - t0 };
}

describeE2E("graceful shutdown: SIGTERM under load on a cluster over NATS", () => {
  let cluster: Cluster;
  let obs: ServiceBroker;
  let adminToken: string;
  let orders1: NodeProcess;
  let bridge: NodeProcess;
  let gateway: NodeProcess;
  let orderBody: unknown;
  /** Every 201 a client received: the orders that exist must be exactly these. */
  let answeredCreated = 0;
  const users: { token: string }[] = [];
  const common = {
    RATE_LIMIT_PER_MINUTE: "10000000",
    AUTH_RATE_LIMIT_PER_MINUTE: "100000",
    ACCESS_TOKEN_TTL: "3600",
    LOG_LEVEL: "info",
  };

  const http = jsonClient(() => cluster.baseUrl);
  const ordersNodesUp = () =>
    obs.registry.getServiceList({ onlyAvailable: true }).filter((s: any) => s.name === "orders").length;

  beforeAll(async () => {
    cluster = new Cluster();
    await cluster.add("identity", ["users", "tokens"], {
      ...common,
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
    });
    gateway = await cluster.add("gateway", ["api"], common);
    await cluster.add("catalog", ["products", "inventory"], common);
    await cluster.add("payments", ["payments"], common);
    orders1 = await cluster.add("orders1", ["orders"], common);
    await cluster.add("orders2", ["orders"], common);
    bridge = await cluster.add("bridge", ["kafka-bridge"], common);
    await cluster.add(
      "rest",
      ALL_SERVICES.filter((s) => !OWN_NODES.includes(s)),
      common,
    );
    await cluster.waitReady(90_000);
    obs = await observer(cluster);
    await waitFor("both orders nodes to be discovered", async () => ordersNodesUp() === 2, 30_000);
    await obs.waitForServices(["kafka-bridge"], 30_000);
    const login = await http("POST", "/api/user/login", ADMIN);
    expect(login.status).toBe(200);
    adminToken = login.body.accessToken;
    for (let i = 0; i < CLIENTS; i++) {
      const res = await http("POST", "/api/user/signup", {
        email: `shutdown-${i}-${cluster.namespace}@shop.test`,
        password: "buyer-password",
        name: `Buyer ${i}`,
      });
      expect(res.status).toBe(201);
      users.push({ token: res.body.accessToken });
    }
  }, 180_000);

  afterAll(async () => {
    await obs?.stop();
    await cluster?.stopAll();
  });

  it("should fail no order while one of two orders nodes takes SIGTERM under load, and that node should exit 0 within 10 s", async () => {
    const created = await http(
      "POST",
      "/api/products",
      { name: `Shutdown ${Date.now()}`, price: 500, stock: 1_000_000 },
      adminToken,
    );
    expect(created.status).toBe(201);
    orderBody = {
      items: [{ productId: created.body.id, quantity: 1 }],
      payment: { method: "card", token: "tok_visa" },
      shippingAddress: ADDRESS,
    };

    const results: { status: number; error?: string; body?: unknown }[] = [];
    const until = Date.now() + LOAD_MS;
    // One request at a time per client, each with its own Idempotency-Key and no retry.
    const client = async (user: { token: string }) => {
      while (Date.now() < until) {
        try {
          const res = await http("POST", "/api/orders", orderBody, user.token, {
            "idempotency-key": randomUUID(),
          });
          results.push({ status: res.status, body: res.status === 201 ? undefined : res.body });
        } catch (err) {
          results.push({ status: 0, error: String(err) });
        }
      }
    };
    const load = Promise.all(users.map(client));

    await sleep(SIGTERM_AFTER_MS);
    const before = results.length;
    const stopped = await sigterm(orders1);
    await load;
    const after = results.length;

    const failed = results.filter((r) => r.status !== 201);
    answeredCreated += results.length - failed.length;
    console.log(
      `orders1 exited with ${stopped.code} after ${stopped.ms} ms; ${results.length} orders ` +
        `(${before} before the signal), ${failed.length} failed`,
    );
    expect({ code: stopped.code, withinTenSeconds: stopped.ms < 10_000 }).toEqual({
      code: 0,
      withinTenSeconds: true,
    });
    if (failed.length)
      throw new Error(`failed requests: ${JSON.stringify(failed.slice(0, 10))}\n${cluster.logs()}`);
    expect(after).toBeGreaterThan(before);
    expect(orders1.output).toMatch(/SIGTERM received/);
    expect(orders1.output).not.toMatch(/did not stop within/);
  }, 60_000);

  it("should stop a node running the Kafka bridge with exit code 0 within 10 s", async () => {
    const stopped = await sigterm(bridge);
    console.log(`bridge exited with ${stopped.code} after ${stopped.ms} ms`);
    expect({ code: stopped.code, withinTenSeconds: stopped.ms < 10_000 }).toEqual({
      code: 0,
      withinTenSeconds: true,
    });
    expect(bridge.output).toMatch(/SIGTERM received/);
  }, 30_000);

  it("should stop the gateway with exit code 0 within 10 s while keep-alive clients keep placing orders", async () => {
    // Clients that reuse their connections back to back, placing orders (requests that take a
    // while): the gateway must stop accepting at once, finish what it holds and close its sockets.
    const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS });
    const place = (user: { token: string }) =>
      new Promise<number>((resolve, reject) => {
        const req = httpRequest(
          `${cluster.baseUrl}/api/orders`,
          {
            method: "POST",
            agent,
            headers: {
              "content-type": "application/json",
              authorization: `Bearer ${user.token}`,
              "idempotency-key": randomUUID(),
            },
          },
          (res) => {
            res.resume();
            res.on("end", () => resolve(res.statusCode ?? 0));
          },
        );
        req.on("error", reject);
        req.end(JSON.stringify(orderBody));
      });
    let ok = 0;
    /** Answers other than 201: none may come (an answered request is a placed order). */
    const refused: number[] = [];
    /** Connection errors: allowed only for requests the gateway never took (checked below). */
    const dropped: string[] = [];
    let running = true;
    const client = async (user: { token: string }) => {
      while (running) {
        try {
          const status = await place(user);
          if (status === 201) ok++;
          else refused.push(status);
        } catch (err) {
          dropped.push(String(err));
          await sleep(50);
        }
      }
    };
    const load = Promise.all(users.map(client));
    await sleep(1_000);
    const stopped = await sigterm(gateway);
    running = false;
    await load;
    agent.destroy();
    answeredCreated += ok;
    console.log(
      `gateway exited with ${stopped.code} after ${stopped.ms} ms (${ok} orders placed; connection errors: ${[...new Set(dropped)].join(", ") || "none"})`,
    );
    expect(ok).toBeGreaterThan(0);
    expect({ code: stopped.code, withinTenSeconds: stopped.ms < 10_000 }).toEqual({
      code: 0,
      withinTenSeconds: true,
    });
    expect(refused).toEqual([]);
    // No request the gateway took was left unanswered: every order that exists got its 201.
    const placed: any = await obs.call(
      "orders.list",
      { pageSize: 1 },
      { meta: { user: { id: "shutdown-observer", role: "admin" } } },
    );
    expect(placed.total).toBe(answeredCreated);
  }, 30_000);
});
