import { createHmac, createPublicKey } from "node:crypto";
import jwt from "jsonwebtoken";
import { ServiceBroker } from "moleculer";
import { kidOf } from "../../lib/auth-tokens";
import { reloadConfig } from "../../lib/config";
import { DbMixin } from "../../mixins/db.mixin";
import { hashParams } from "../../domain/passwords";
import { Cluster, describeE2E, freePort, waitFor } from "../support/cluster";
import { rsaPair } from "../support/fixtures";
import { jsonClient } from "../support/http";

/** Reads the cluster's database through the same DbMixin the services use. */
async function storeReader(cluster: Cluster) {
  const saved = process.env.MONGO_URI;
  process.env.MONGO_URI = cluster.env([]).MONGO_URI;
  reloadConfig();
  const broker = new ServiceBroker({ logger: false });
  const users: any = broker.createService({ name: "read-users", mixins: [DbMixin({ collection: "users" })] });
  const tokens: any = broker.createService({
    name: "read-tokens",
    mixins: [DbMixin({ collection: "refresh_tokens" })],
  });
  if (saved === undefined) delete process.env.MONGO_URI;
  else process.env.MONGO_URI = saved;
  reloadConfig();
  await broker.start();
  return { broker, users: users.adapter, tokens: tokens.adapter };
}

describeE2E("identity with users and tokens on other nodes than the two gateways", () => {
  const keys = rsaPair();
  const kid = kidOf(createPublicKey(keys.publicKey));
  const admin = { email: "admin@e2e.test", password: "e2e admin password" };
  let cluster: Cluster;
  let gateways: string[];
  let store: Awaited<ReturnType<typeof storeReader>>;
  /** Every password, token and hash the run handled: the logs must contain none of them. */
  const secrets = new Set<string>([admin.password]);

  let seq = 0;
  const uniqueEmail = () => `e2e${Date.now()}-${++seq}@shop.test`;
  /** A request through gateway `gw`; every token it hands out is remembered as a secret. */
  const http = async (gw: number, method: string, path: string, body?: unknown, token?: string) => {
    const res = await jsonClient(() => gateways[gw], 20_000)(method, path, body, token);
    for (const k of ["accessToken", "refreshToken"]) if (res.body?.[k]) secrets.add(res.body[k]);
    return res;
  };
  const signup = async (gw = 0) => {
    const body = { email: uniqueEmail(), password: `pw-${Math.random().toString(36).slice(2)}`, name: "Eve" };
    secrets.add(body.password);
    const res = await http(gw, "POST", "/api/user/signup", body);
    expect(res.status).toBe(201);
    return { body, res };
  };
  const login = (gw: number, email: unknown, password: unknown) =>
    http(gw, "POST", "/api/user/login", { email, password });
  const refresh = (gw: number, refreshToken: string) =>
    http(gw, "POST", "/api/refresh-token", { refreshToken });
  const me = (gw: number, token: string) => http(gw, "GET", "/api/user/me", undefined, token);

  beforeAll(async () => {
    cluster = new Cluster({
      LOG_LEVEL: "debug",
      JWT_PRIVATE_KEY: keys.privateKey,
      JWT_PUBLIC_KEY: keys.publicKey,
      ADMIN_EMAIL: admin.email,
      ADMIN_PASSWORD: admin.password,
      AUTH_RATE_LIMIT_PER_MINUTE: "100000",
      RATE_LIMIT_PER_MINUTE: "100000",
    });
    await cluster.add("gw1", ["api"]);
    const secondPort = await freePort();
    await cluster.add("gw2", ["api"], { PORT: String(secondPort) });
    // Two identity nodes start at once: both bootstrap the admin, both rotate refresh tokens.
    await cluster.add("id1", ["users", "tokens"]);
    await cluster.add("id2", ["users", "tokens"]);
    gateways = [cluster.baseUrl, `http://127.0.0.1:${secondPort}`];
    // Readiness also waits for services other suites run (products, ...): wait for ours only.
    for (const base of gateways)
      await waitFor(
        `${base} to see users and tokens ready`,
        async () => {
          const r = await fetch(`${base}/health/ready`).catch(() => undefined);
          const checks = r && ((await r.json()) as any).checks;
          const down = [...(checks?.services?.missing ?? []), ...(checks?.database?.services ?? [])];
          return checks && !down.includes("users") && !down.includes("tokens");
        },
        60_000,
      );
    store = await storeReader(cluster);
  }, 90_000);

  afterAll(async () => {
    await store?.broker.stop();
    await cluster?.stopAll();
  });

  it("should sign up (201), log in (200), answer me, refresh and log out (204) with the shapes of API.md", async () => {
    const { body, res } = await signup(0);
    expect(res.body).toEqual({
      user: {
        id: expect.any(String),
        email: body.email,
        name: "Eve",
        role: "customer",
        notifications: { email: true, sms: true },
        createdAt: expect.any(String),
      },
      accessToken: expect.any(String),
      refreshToken: expect.any(String),
      expiresIn: 900,
    });
    const logged = await login(1, body.email.toUpperCase(), body.password);
    expect(logged.status).toBe(200);
    expect(logged.body.user).toEqual(res.body.user);
    expect((await me(1, res.body.accessToken)).body).toEqual(res.body.user);
    const rotated = await refresh(0, logged.body.refreshToken);
    expect(rotated.status).toBe(200);
    expect(Object.keys(rotated.body).sort()).toEqual(["accessToken", "expiresIn", "refreshToken"]);
    expect((await me(0, rotated.body.accessToken)).status).toBe(200);
    const out = await http(1, "POST", "/api/user/logout", { refreshToken: rotated.body.refreshToken });
    expect(out.status).toBe(204);
    expect((await refresh(0, rotated.body.refreshToken)).status).toBe(401);
    expect((await http(0, "POST", "/api/user/logout", { refreshToken: "never-issued" })).status).toBe(204);
    expect((await login(0, body.email, "wrong password")).status).toBe(401);
    expect((await login(0, uniqueEmail(), "wrong password")).status).toBe(401);
  });

  it("should answer 401 to every forged access token", async () => {
    const { res } = await signup(0);
    const valid: string = res.body.accessToken;
    const claims = jwt.decode(valid) as Record<string, unknown>;
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
    const sign = (o: jwt.SignOptions, key: string = keys.privateKey, extra: object = {}) =>
      jwt.sign({ role: "admin", ...extra }, key, {
        algorithm: "RS256",
        keyid: kid,
        subject: res.body.user.id,
        issuer: "moleculer-shop",
        audience: "moleculer-shop-api",
        ...o,
      });
    const hsHead = b64({ alg: "HS256", typ: "JWT", kid });
    const hsBody = b64({ ...claims, role: "admin" });
    const [h, , s] = valid.split(".");
    const forged: Record<string, string> = {
      "alg none": `${b64({ alg: "none", typ: "JWT", kid })}.${b64(claims)}.`,
      "HS256 with the public key": `${hsHead}.${hsBody}.${createHmac("sha256", keys.publicKey).update(`${hsHead}.${hsBody}`).digest("base64url")}`,
      "edited payload": `${h}.${b64({ ...claims, role: "admin" })}.${s}`,
      "wrong iss": sign({ expiresIn: 60, issuer: "evil" }),
      "wrong aud": sign({ expiresIn: 60, audience: "evil" }),
      expired: sign({}, keys.privateKey, { exp: Math.floor(Date.now() / 1000) - 5 }),
      "unknown key": sign({ expiresIn: 60, keyid: "k2" }, rsaPair().privateKey),
      "refresh token": res.body.refreshToken,
    };
    expect((await me(0, sign({ expiresIn: 60 }))).status).toBe(200); // the control: a real signature passes
    for (const [what, token] of Object.entries(forged)) {
      const r = await me(0, token);
      expect([what, r.status, r.body.type]).toEqual([what, 401, "INVALID_TOKEN"]);
    }
    expect((await http(1, "GET", "/api/users", undefined, forged["edited payload"])).status).toBe(401);
  });

  it("should answer 422 naming the field to operator objects in signup and login, and issue no token", async () => {
    const { body } = await signup(0);
    const base = { email: uniqueEmail(), password: "long enough", name: "Op" };
    for (const field of ["email", "password", "name", "phone"]) {
      const r = await http(0, "POST", "/api/user/signup", { ...base, [field]: { $ne: null } });
      expect([field, r.status]).toEqual([field, 422]);
      expect(r.body.data.map((e: any) => e.field)).toContain(field);
      expect(r.text).not.toMatch(/accessToken|refreshToken/);
    }
    expect(await store.users.count({ query: { email: base.email } })).toBe(0);
    for (const field of ["email", "password"]) {
      const r = await login(
        1,
        field === "email" ? { $ne: null } : body.email,
        field === "password" ? { $gt: "" } : "x",
      );
      expect([field, r.status]).toEqual([field, 422]);
      expect(r.body.data.map((e: any) => e.field)).toEqual([field]);
      expect(r.text).not.toMatch(/accessToken|refreshToken/);
    }
  });

  it("should answer 422 to `role` in signup and in PATCH me, and keep the role `customer`", async () => {
    const email = uniqueEmail();
    const r = await http(0, "POST", "/api/user/signup", {
      email,
      password: "long enough",
      name: "M",
      role: "admin",
    });
    expect(r.status).toBe(422);
    expect(r.body.data).toEqual([expect.objectContaining({ field: "role" })]);
    expect(await store.users.count({ query: { email } })).toBe(0);
    const { res } = await signup(1);
    const patch = await http(1, "PATCH", "/api/user/me", { role: "admin" }, res.body.accessToken);
    expect(patch.status).toBe(422);
    expect(patch.body.data.map((e: any) => e.field)).toEqual(["role"]);
    expect((await me(0, res.body.accessToken)).body.role).toBe("customer");
    expect((await store.users.findById(res.body.user.id)).role).toBe("customer");
  });

  it("should show a profile change at once through every gateway and users node", async () => {
    const { res } = await signup(0);
    const token = res.body.accessToken;
    for (let i = 0; i < 6; i++) expect((await me(i % 2, token)).body.name).toBe("Eve"); // cached on both nodes
    const patched = await http(
      0,
      "PATCH",
      "/api/user/me",
      { name: "Eva", notifications: { sms: false } },
      token,
    );
    expect(patched.status).toBe(200);
    for (let i = 0; i < 6; i++) expect((await me(i % 2, token)).body).toEqual(patched.body);
  });

  it("should stop the old refresh token after use and revoke the family when it comes back", async () => {
    const { res } = await signup(0);
    const second = await refresh(0, res.body.refreshToken);
    expect(second.status).toBe(200);
    expect((await refresh(1, res.body.refreshToken)).status).toBe(401);
    expect((await refresh(0, second.body.refreshToken)).status).toBe(401);
  });

  it("should give exactly one 200 to six concurrent refreshes with one token, over both gateways and token nodes", async () => {
    const { res } = await signup(0);
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => refresh(i % 2, res.body.refreshToken)),
    );
    // Type names too, so that a failure says what the odd one out was.
    const outcomes = results.map((r) => `${r.status} ${r.body?.type ?? ""}`.trim()).sort();
    expect(outcomes).toEqual(["200", ...Array(5).fill("401 INVALID_REFRESH_TOKEN")]);
  });

  it("should answer the 11th failed login on one account with 429, counting across both gateways through Redis", async () => {
    const { body } = await signup(0);
    for (let i = 0; i < 10; i++) expect((await login(i % 2, body.email, `wrong-${i}`)).status).toBe(401);
    for (const gw of [0, 1]) {
      const r = await login(gw, body.email, body.password);
      expect(r.status).toBe(429);
      expect(Number(r.headers.get("retry-after"))).toBeGreaterThan(0);
    }
  });

  it("should store argon2id hashes with the OWASP parameters, and refresh tokens only as hashes", async () => {
    const { res } = await signup(1);
    const user = await store.users.findById(res.body.user.id);
    expect(hashParams(user.passwordHash)).toEqual({
      algorithm: "argon2id",
      version: 19,
      m: 19456,
      t: 2,
      p: 1,
    });
    const rows = await store.tokens.find({ query: { userId: res.body.user.id } });
    expect(rows).toHaveLength(1);
    expect(rows[0].hash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(rows)).not.toContain(res.body.refreshToken);
  });

  it("should have created one admin though two nodes bootstrapped it at once, and let it list users", async () => {
    const admins = await store.users.find({ query: { role: "admin" } });
    expect(admins.map((a: any) => a.email)).toEqual([admin.email]);
    const token = (await login(1, admin.email, admin.password)).body.accessToken;
    const page = await http(0, "GET", "/api/users?page=1&pageSize=500", undefined, token);
    expect(page.status).toBe(200);
    expect(page.body).toMatchObject({ page: 1, pageSize: 100, totalPages: expect.any(Number) });
    expect(page.body.total).toBeGreaterThan(5);
  });

  it("should not write any password, password hash or token to any node's log", async () => {
    const users = await store.users.find({ query: {} });
    for (const u of users) secrets.add(u.passwordHash);
    const logs = cluster.logs();
    expect(logs).toMatch(/DEBUG/); // the run logged at debug level: the grep covers the most verbose output
    for (const n of cluster.nodes) expect(n.output.length).toBeLessThan(1_000_000); // nothing was dropped
    const leaked = [...secrets].filter((s) => logs.includes(s));
    expect(leaked).toEqual([]);
    expect(logs).not.toMatch(/\$argon2id\$|eyJ[\w-]+\.eyJ/);
  });
});
