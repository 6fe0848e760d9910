import { randomUUID } from "node:crypto";
import Redis from "ioredis";
import { Cluster, describeE2E, infraEnv, waitFor, type NodeProcess } from "../support/cluster";
import { rsaPair } from "../support/fixtures";

/** A node's complete JSON log lines (production logs are one JSON object per line). */
function jsonLines(node: NodeProcess): any[] {
  const complete = node.output.slice(0, node.output.lastIndexOf("\n"));
  return complete
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l));
}

/** A line mentions the id somewhere other than its requestId field. */
const mentions = (line: any, id: string) => JSON.stringify({ ...line, requestId: undefined }).includes(id);

describeE2E("request ids in every log line and traces in Zipkin, across nodes", () => {
  const keys = rsaPair();
  let cluster: Cluster;
  let gateway: NodeProcess;
  let identity: NodeProcess;
  let notifier: NodeProcess;
  let zipkin: string;
  /** Every password and token the run handled: no log line and no span may contain one. */
  const secrets = new Set<string>();
  const metricsToken = `metrics-${randomUUID()}`;

  const http = async (method: string, path: string, requestId: string, body?: unknown, token?: string) => {
    const res = await fetch(cluster.baseUrl + path, {
      method,
      headers: {
        "x-request-id": requestId,
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: body !== undefined ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(20_000),
    });
    const json: any = await res.json();
    for (const k of ["accessToken", "refreshToken"]) if (json?.[k]) secrets.add(json[k]);
    expect(res.headers.get("x-request-id")).toBe(requestId);
    return { status: res.status, body: json };
  };

  beforeAll(async () => {
    zipkin = infraEnv().ZIPKIN_URL;
    if (!zipkin) throw new Error(".infra.env has no ZIPKIN_URL: run `npm run infra:up`");
    cluster = new Cluster({
      NODE_ENV: "production",
      LOG_LEVEL: "debug",
      JWT_PRIVATE_KEY: keys.privateKey,
      JWT_PUBLIC_KEY: keys.publicKey,
      PAYMENT_WEBHOOK_SECRET: randomUUID(),
      TRACING_EXPORTER: "zipkin",
      TRACING_URL: zipkin,
      METRICS_TOKEN: metricsToken,
    });
    gateway = await cluster.add("gw", ["api"]);
    identity = await cluster.add("id", ["users", "tokens"]);
    notifier = await cluster.add("notify", ["notifications"]);
    await waitFor(
      "the gateway to see users, tokens and notifications ready",
      async () => {
        const r = await fetch(`${cluster.baseUrl}/health/ready`).catch(() => undefined);
        const checks = r && ((await r.json()) as any).checks;
        const down = [...(checks?.services?.missing ?? []), ...(checks?.database?.services ?? [])];
        return checks && !["users", "tokens", "notifications"].some((s) => down.includes(s));
      },
      60_000,
    );
  }, 90_000);

  afterAll(async () => {
    await cluster?.stopAll();
  });

  const ids = { signup: randomUUID(), login: randomUUID(), me: randomUUID() };

  it("should stamp the X-Request-Id on every line each node writes for the request, channel consumers included", async () => {
    const user = { email: `obs-${randomUUID()}@shop.test`, password: `pw-${randomUUID()}`, name: "Olga" };
    secrets.add(user.password);
    expect((await http("POST", "/api/user/signup", ids.signup, user)).status).toBe(201);
    const login = await http("POST", "/api/user/login", ids.login, {
      email: user.email,
      password: user.password,
    });
    expect(login.status).toBe(200);
    expect((await http("GET", "/api/user/me", ids.me, undefined, login.body.accessToken)).status).toBe(200);

    // The welcome email is sent by the notifications node from the user.registered channel.
    await waitFor(
      "the notifications node to log for the signup",
      async () => jsonLines(notifier).some((l) => l.requestId === ids.signup),
      30_000,
    );
    for (const id of Object.values(ids)) {
      for (const node of [gateway, identity, notifier]) {
        const lines = jsonLines(node);
        expect([node.nodeID, id, lines.some((l) => l.requestId === id)]).toEqual([
          node.nodeID,
          id,
          node !== notifier || id === ids.signup,
        ]);
        // Lines that name the request (the gateway's access line, transit's "<= Request ...
        // with requestID ..." on the receiving node, ...) all carry it as a field.
        const named = lines.filter((l) => mentions(l, id));
        expect(named.filter((l) => l.requestId !== id)).toEqual([]);
      }
    }
    const gwLogin = jsonLines(gateway).filter((l) => l.requestId === ids.login);
    expect(gwLogin.map((l) => l.msg)).toEqual(
      expect.arrayContaining([
        "=> POST /api/user/login",
        expect.stringMatching(/^POST \/user\/login 200 .* requestId=/),
      ]),
    );
    const idLogin = jsonLines(identity).filter((l) => l.requestId === ids.login);
    expect(idLogin.map((l) => l.msg)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^<= Request 'users\.login' with requestID/)]),
    );
  });

  it("should write no password, token or password hash to any log line of the auth flow", () => {
    const lines = cluster.nodes.flatMap(jsonLines);
    // The grep covers the most verbose output, on both nodes of the auth flow.
    for (const node of [gateway, identity])
      expect(
        jsonLines(node).filter((l) => l.level === 20 && l.requestId === ids.login).length,
      ).toBeGreaterThan(0);
    expect(secrets.size).toBeGreaterThanOrEqual(3); // the password, access and refresh tokens
    const text = cluster.logs();
    expect(lines.length).toBeGreaterThan(100);
    expect([...secrets].filter((s) => text.includes(s))).toEqual([]);
    expect(text).not.toMatch(/\$argon2id\$|eyJ[\w-]+\.eyJ/);
  });

  it("should export one trace per request to Zipkin, with spans from the gateway and the users node", async () => {
    const traceId = ids.login.replace(/-/g, "");
    const spans = await waitFor<any[]>(
      `trace ${traceId} in Zipkin with spans from both nodes`,
      async () => {
        const r = await fetch(`${zipkin}/api/v2/trace/${traceId}`);
        if (r.status !== 200) return undefined;
        const trace = (await r.json()) as any[];
        const nodes = new Set(trace.map((s) => s.tags?.nodeID));
        return nodes.has(gateway.nodeID) && nodes.has(identity.nodeID) ? trace : undefined;
      },
      30_000,
      500,
    );
    expect(spans.every((s) => s.tags.requestID === ids.login)).toBe(true);
    const byName = (node: NodeProcess) =>
      spans.filter((s) => s.tags.nodeID === node.nodeID).map((s) => s.name);
    expect(byName(gateway)).toContain("post /api/user/login"); // Zipkin lowercases names
    expect(byName(identity)).toContain("action 'users.login'");
    // The users node's span hangs under a span of the gateway: one tree across the nodes.
    const login = spans.find((s) => s.name === "action 'users.login'");
    const parent = spans.find((s) => s.id === login.parentId);
    expect(parent?.tags.nodeID).toBe(gateway.nodeID);
    // Spans carry no params: the password and the tokens stay out of Zipkin.
    const text = JSON.stringify(spans);
    expect([...secrets].filter((s) => text.includes(s))).toEqual([]);
  });

  it("should serve every node's process gauges and request counts on /metrics, only to a bearer of METRICS_TOKEN", async () => {
    expect((await fetch(`${cluster.baseUrl}/metrics`)).status).toBe(401);
    const res = await fetch(`${cluster.baseUrl}/metrics`, {
      headers: { authorization: `Bearer ${metricsToken}` },
    });
    expect(res.status).toBe(200);
    const lines = (await res.text()).split("\n");
    for (const node of [gateway, identity, notifier])
      expect([
        node.nodeID,
        lines.some((l) => l.startsWith("process_uptime{") && l.includes(`nodeID="${node.nodeID}"`)),
      ]).toEqual([node.nodeID, true]);
    const logins = lines.filter(
      (l) =>
        l.startsWith("moleculer_request_total{") &&
        l.includes('action="users.login"') &&
        l.includes(`nodeID="${identity.nodeID}"`),
    );
    expect(logins.length).toBeGreaterThan(0);
  });

  it("should count the gateway's rate limits in the infra's Redis, under this cluster's namespace", async () => {
    const redis = new Redis(infraEnv().REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await redis.connect();
      const keys = await redis.keys(`${cluster.namespace}:rl:*`);
      expect(keys.length).toBeGreaterThan(0);
    } finally {
      redis.disconnect();
    }
  });
});
