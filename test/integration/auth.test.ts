import { createHmac, createPublicKey } from "node:crypto";
import jwt from "jsonwebtoken";
import type { ServiceBroker } from "moleculer";
import type { startNode } from "../../bin/node";
import { kidOf } from "../../lib/auth-tokens";
import { hashParams } from "../../domain/passwords";
import { freePort } from "../support/cluster";
import { rsaPair } from "../support/fixtures";
import { jsonClient } from "../support/http";

const ADMIN = { email: "root@shop.test", password: "admin-password-1" };
const ISS = "moleculer-shop";
const AUD = "moleculer-shop-api";

/** One gateway-backed node with every identity service, in this process. */
async function startIdentityNode(env: Record<string, string>) {
  const saved = { ...process.env };
  Object.assign(process.env, {
    PORT: String(await freePort()),
    SERVICES: "api,tokens,users",
    LOG_LEVEL: "error",
    ...env,
  });
  // Fresh modules (services load synchronously in startNode), so the configuration, which modules
  // read once when they load, is this node's own.
  let starting!: ReturnType<typeof startNode>;
  let argon2!: typeof import("@node-rs/argon2");
  jest.isolateModules(() => {
    starting = require("../../bin/node").startNode();
    // The instance this node's password checks call, for tests that watch them.
    argon2 = require("@node-rs/argon2");
  });
  const broker = await starting;
  const base = `http://127.0.0.1:${process.env.PORT}`;
  process.env = saved;
  const http = jsonClient(() => base);
  return { broker, http, argon2 };
}

let seq = 0;
const uniqueEmail = () => `user${Date.now()}-${++seq}@shop.test`;

describe("identity through the gateway, every service in one broker", () => {
  const keys = rsaPair();
  const kid = kidOf(createPublicKey(keys.publicKey));
  let broker: ServiceBroker;
  let http: Awaited<ReturnType<typeof startIdentityNode>>["http"];
  let argon2: Awaited<ReturnType<typeof startIdentityNode>>["argon2"];
  const registered: any[] = [];
  /** Every secret a client handled: none may come back in a response it was not meant for. */
  const secrets: string[] = [];

  const signup = async (over: Record<string, unknown> = {}) => {
    const body = { email: uniqueEmail(), password: "correct horse", name: "Ann", ...over };
    const res = await http("POST", "/api/user/signup", body);
    if (res.status === 201) secrets.push(res.body.accessToken, res.body.refreshToken);
    return { res, body };
  };
  const login = (email: string, password: string) => http("POST", "/api/user/login", { email, password });
  const refresh = (refreshToken: string) => http("POST", "/api/refresh-token", { refreshToken });
  const me = (token?: string) => http("GET", "/api/user/me", undefined, token);
  const sign = (claims: object, opts: jwt.SignOptions = {}, key: string = keys.privateKey) =>
    jwt.sign({ role: "customer", ...claims }, key, {
      algorithm: "RS256",
      keyid: kid,
      issuer: ISS,
      audience: AUD,
      ...("exp" in claims ? {} : { expiresIn: 60 }),
      ...opts,
    });

  beforeAll(async () => {
    ({ broker, http, argon2 } = await startIdentityNode({
      JWT_PRIVATE_KEY: keys.privateKey,
      JWT_PUBLIC_KEY: keys.publicKey,
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
      AUTH_RATE_LIMIT_PER_MINUTE: "100000",
      RATE_LIMIT_PER_MINUTE: "100000",
    }));
    broker.createService({
      name: "registered-listener",
      channels: {
        "user.registered": { group: "test", handler: (e: any) => void registered.push(e?.params ?? e) },
      },
    } as any);
  });
  afterAll(() => broker?.stop());

  describe("signup, login, me, refresh, logout", () => {
    it("should sign up a customer with 201, a normalised email, default preferences and a token pair", async () => {
      const email = uniqueEmail();
      const { res } = await signup({ email: `  ${email.toUpperCase()} `, phone: "+14155550123" });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({
        user: {
          id: expect.any(String),
          email,
          name: "Ann",
          phone: "+14155550123",
          role: "customer",
          notifications: { email: true, sms: true },
          createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        },
        accessToken: expect.any(String),
        refreshToken: expect.any(String),
        expiresIn: 900,
      });
      expect(res.body.refreshToken).not.toBe(res.body.accessToken);
    });

    it("should publish user.registered through the outbox once per signup", async () => {
      const { res } = await signup();
      await new Promise((r) => setTimeout(r, 100));
      const events = registered.filter((e) => e.data.userId === res.body.user.id);
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({
        type: "user.registered",
        version: 1,
        key: res.body.user.id,
        data: { userId: res.body.user.id, email: res.body.user.email, name: "Ann" },
      });
      const doc = await (broker.getLocalService("users") as any).adapter.findById(res.body.user.id);
      expect(doc._outbox).toEqual([]);
    });

    it("should answer 409 to a second signup with the same email in another case", async () => {
      const { body } = await signup();
      const again = await http("POST", "/api/user/signup", { ...body, email: body.email.toUpperCase() });
      expect(again.status).toBe(409);
      expect(again.body).toMatchObject({ code: 409, type: "EMAIL_TAKEN" });
    });

    it("should log in with 200 and the user and a token pair, whatever the case of the email", async () => {
      const { body, res: created } = await signup();
      const res = await login(` ${body.email.toUpperCase()}`, body.password);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        user: created.body.user,
        accessToken: expect.any(String),
        refreshToken: expect.any(String),
        expiresIn: 900,
      });
    });

    it("should answer a wrong password and an unknown email with the same 401", async () => {
      const { body } = await signup();
      const wrong = await login(body.email, "not the password");
      const unknown = await login(uniqueEmail(), "not the password");
      expect(wrong.status).toBe(401);
      expect(unknown.status).toBe(401);
      expect(unknown.body).toEqual(wrong.body);
    });

    it("should check the password of an unknown email against a hash of the same cost as a wrong password's", async () => {
      // Same work on both paths, so the response time tells no one whether an account exists.
      const { body } = await signup();
      const verify = jest.spyOn(argon2, "verify");
      try {
        expect((await login(body.email, "not the password")).status).toBe(401);
        expect((await login(uniqueEmail(), "not the password")).status).toBe(401);
        expect(verify).toHaveBeenCalledTimes(2);
        const [known, unknown] = verify.mock.calls.map(([hash]) => String(hash));
        expect(unknown).not.toBe(known);
        expect(hashParams(unknown)).toEqual(hashParams(known));
      } finally {
        verify.mockRestore();
      }
    });

    it("should return the caller's user on GET /api/user/me and 401 without a token", async () => {
      const { res } = await signup();
      const mine = await me(res.body.accessToken);
      expect(mine.status).toBe(200);
      expect(mine.body).toEqual(res.body.user);
      const anonymous = await me();
      expect(anonymous.status).toBe(401);
      expect(anonymous.body).toMatchObject({ name: "UnAuthorizedError", code: 401, type: "NO_TOKEN" });
      expect(anonymous.headers.get("www-authenticate")).toBe("Bearer");
    });

    it("should refresh with 200 and a new pair, after which the old refresh token gets 401", async () => {
      const { res } = await signup();
      const first = await refresh(res.body.refreshToken);
      expect(first.status).toBe(200);
      expect(first.body).toEqual({
        accessToken: expect.any(String),
        refreshToken: expect.any(String),
        expiresIn: 900,
      });
      secrets.push(first.body.accessToken, first.body.refreshToken);
      expect((await me(first.body.accessToken)).body.id).toBe(res.body.user.id);
      // The account's signup time rides along, in the first pair and after rotation.
      expect(res.body.user.createdAt).toEqual(expect.any(String));
      for (const token of [res.body.accessToken, first.body.accessToken])
        expect(jwt.decode(token)).toMatchObject({ signedUpAt: res.body.user.createdAt });
      const old = await refresh(res.body.refreshToken);
      expect(old.status).toBe(401);
      expect(old.body).toMatchObject({ code: 401, type: "INVALID_REFRESH_TOKEN" });
    });

    it("should revoke the whole family when a rotated refresh token is presented again", async () => {
      const { res } = await signup();
      const second = await refresh(res.body.refreshToken);
      const third = await refresh(second.body.refreshToken);
      expect(third.status).toBe(200);
      expect((await refresh(res.body.refreshToken)).status).toBe(401);
      expect((await refresh(third.body.refreshToken)).status).toBe(401);
    });

    it("should give exactly one 200 to six concurrent refreshes with one token, and revoke the family", async () => {
      const { res } = await signup();
      const results = await Promise.all(Array.from({ length: 6 }, () => refresh(res.body.refreshToken)));
      const statuses = results.map((r) => r.status).sort();
      expect(statuses).toEqual([200, 401, 401, 401, 401, 401]);
      const winner = results.find((r) => r.status === 200)!;
      expect((await refresh(winner.body.refreshToken)).status).toBe(401);
    });

    it("should log out with 204, after which the refresh token gets 401; an unknown token also gets 204", async () => {
      const { res } = await signup();
      const out = await http("POST", "/api/user/logout", { refreshToken: res.body.refreshToken });
      expect(out.status).toBe(204);
      expect(out.text).toBe("");
      expect((await refresh(res.body.refreshToken)).status).toBe(401);
      expect((await http("POST", "/api/user/logout", { refreshToken: "no-such-token" })).status).toBe(204);
    });
  });

  describe("profile changes", () => {
    it("should change name, phone and notification preferences with PATCH /api/user/me", async () => {
      const { res } = await signup();
      const token = res.body.accessToken;
      expect((await me(token)).body.name).toBe("Ann"); // now cached
      const patched = await http(
        "PATCH",
        "/api/user/me",
        { name: " Bea ", phone: "+33612345678", notifications: { sms: false } },
        token,
      );
      expect(patched.status).toBe(200);
      expect(patched.body).toMatchObject({
        name: "Bea",
        phone: "+33612345678",
        notifications: { email: true, sms: false },
      });
      const cleared = await http("PATCH", "/api/user/me", { phone: null }, token);
      expect(cleared.body).not.toHaveProperty("phone");
      expect((await me(token)).body).toEqual(cleared.body);
    });

    it.each(["role", "email", "password"])(
      "should refuse `%s` in PATCH /api/user/me with 422 naming it",
      async (field) => {
        const { res } = await signup();
        const value = field === "role" ? "admin" : field === "email" ? "x@shop.test" : "new password 1";
        const patched = await http(
          "PATCH",
          "/api/user/me",
          { name: "Eve", [field]: value },
          res.body.accessToken,
        );
        expect(patched.status).toBe(422);
        expect(patched.body).toMatchObject({ name: "ValidationError", code: 422, type: "VALIDATION_ERROR" });
        expect(patched.body.data.map((e: any) => e.field)).toEqual([field]);
        const after = await me(res.body.accessToken);
        expect(after.body).toEqual(res.body.user);
      },
    );

    it("should refuse an unknown key inside notifications and a phone that is not E.164 with 422", async () => {
      const { res } = await signup();
      const bad = await http(
        "PATCH",
        "/api/user/me",
        { notifications: { push: true }, phone: "0612" },
        res.body.accessToken,
      );
      expect(bad.status).toBe(422);
      expect(bad.body.data.map((e: any) => e.field).sort()).toEqual(["notifications.push", "phone"]);
    });

    // Found by Schemathesis: null passed every optional rule, and `name: null` answered 500.
    it("should refuse null for a field that is not nullable with 422 and change nothing", async () => {
      const { res } = await signup({ phone: "+14155550123" });
      const token = res.body.accessToken;
      for (const patch of [{ name: null }, { notifications: null }, { notifications: { sms: null } }]) {
        const bad = await http("PATCH", "/api/user/me", patch, token);
        expect(bad.status).toBe(422);
      }
      expect((await me(token)).body).toEqual(res.body.user);
      // Found by Schemathesis: a JSON array arrived as an empty patch and answered 200.
      const array = await http("PATCH", "/api/user/me", [], token);
      expect(array.status).toBe(422);
      expect(array.body.data).toEqual([expect.objectContaining({ field: "body", type: "object" })]);
      // `phone` is nullable: null removes it.
      const cleared = await http("PATCH", "/api/user/me", { phone: null }, token);
      expect(cleared.status).toBe(200);
      expect(cleared.body.phone).toBeUndefined();
    });
  });

  describe("strict input", () => {
    it("should refuse `role` in signup with 422 and create nobody", async () => {
      const email = uniqueEmail();
      const res = await http("POST", "/api/user/signup", {
        email,
        password: "correct horse",
        name: "Mal",
        role: "admin",
      });
      expect(res.status).toBe(422);
      expect(res.body.data).toEqual([expect.objectContaining({ field: "role" })]);
      expect(res.text).not.toMatch(/Token/);
      expect((await login(email, "correct horse")).status).toBe(401);
    });

    it.each(["email", "password", "name", "phone"])(
      "should refuse an operator object in signup's `%s` with 422 naming it, and issue no token",
      async (field) => {
        const email = uniqueEmail();
        const body: any = { email, password: "correct horse", name: "Op", [field]: { $ne: null } };
        const res = await http("POST", "/api/user/signup", body);
        expect(res.status).toBe(422);
        expect(res.body.data.map((e: any) => e.field)).toContain(field);
        expect(res.text).not.toMatch(/accessToken|refreshToken|eyJ/);
        const users = (broker.getLocalService("users") as any).adapter;
        expect(await users.count({ query: { name: "Op" } })).toBe(0);
      },
    );

    it.each(["email", "password"])(
      "should refuse an operator object in login's `%s` with 422 naming it, and issue no token",
      async (field) => {
        const { body } = await signup();
        const res = await login(
          field === "email" ? ({ $ne: null } as any) : body.email,
          field === "password" ? ({ $ne: null } as any) : body.password,
        );
        expect(res.status).toBe(422);
        expect(res.body.data.map((e: any) => e.field)).toEqual([field]);
        expect(res.text).not.toMatch(/accessToken|refreshToken|eyJ/);
      },
    );

    it("should refuse an unknown field, a wrong type and a short password in signup with 422 listing each", async () => {
      const res = await http("POST", "/api/user/signup", {
        email: uniqueEmail(),
        password: "short",
        name: 42,
        admin: true,
      });
      expect(res.status).toBe(422);
      expect(res.body.data.map((e: any) => e.field).sort()).toEqual(["admin", "name", "password"]);
      expect(res.text).not.toContain("short");
    });

    // Found by Schemathesis: lengths were UTF-16 units, so 7 emoji passed "at least 8 characters".
    it("should count a password's length in characters", async () => {
      expect((await signup({ password: "🔑".repeat(7) })).res.status).toBe(422);
      expect((await signup({ password: "🔑".repeat(8) })).res.status).toBe(201);
    });

    it("should refuse an operator object as the refresh token with 422", async () => {
      const res = await refresh({ $ne: null } as any);
      expect(res.status).toBe(422);
      expect(res.body.data.map((e: any) => e.field)).toEqual(["refreshToken"]);
    });
  });

  describe("forged access tokens", () => {
    let user: any;
    let valid: string;
    let refreshToken: string;
    beforeAll(async () => {
      const { res } = await signup();
      ({ user, accessToken: valid, refreshToken } = res.body);
    });
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
    const forgeries: [string, () => string][] = [
      ["alg none", () => `${b64({ alg: "none", typ: "JWT", kid })}.${b64(jwt.decode(valid) as object)}.`],
      [
        "HS256 signed with the public key as the secret",
        () => {
          const head = b64({ alg: "HS256", typ: "JWT", kid });
          const body = b64({ ...(jwt.decode(valid) as object), role: "admin" });
          const sig = createHmac("sha256", keys.publicKey).update(`${head}.${body}`).digest("base64url");
          return `${head}.${body}.${sig}`;
        },
      ],
      [
        "payload edited, signature kept",
        () => {
          const [h, , s] = valid.split(".");
          return `${h}.${b64({ ...(jwt.decode(valid) as object), role: "admin" })}.${s}`;
        },
      ],
      ["wrong iss", () => sign({}, { subject: user.id, issuer: "someone-else" })],
      ["wrong aud", () => sign({}, { subject: user.id, audience: "another-api" })],
      ["expired", () => sign({ exp: Math.floor(Date.now() / 1000) - 10 }, { subject: user.id })],
      [
        "signed by an unknown key",
        () => sign({}, { subject: user.id, keyid: "unknown-kid" }, rsaPair().privateKey),
      ],
      [
        "signed by another key under the known kid",
        () => sign({}, { subject: user.id }, rsaPair().privateKey),
      ],
      ["a refresh token", () => refreshToken],
      ["garbage", () => "not-a-token"],
    ];

    it("should accept a token signed with the real key (the control case)", async () => {
      expect((await me(sign({}, { subject: user.id }))).status).toBe(200);
      expect((await me(valid)).status).toBe(200);
    });

    it.each(forgeries)("should answer 401 to a forged token: %s", async (_what, forge) => {
      const res = await me(forge());
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({ code: 401, type: "INVALID_TOKEN" });
    });

    it("should refuse a token once it has expired, even one it accepted before", async () => {
      const shortLived = sign({ exp: Math.floor(Date.now() / 1000) + 2 }, { subject: user.id });
      expect((await me(shortLived)).status).toBe(200);
      await new Promise((r) => setTimeout(r, 2100));
      expect((await me(shortLived)).status).toBe(401);
    });

    it("should ignore an invalid token on a route that needs none", async () => {
      expect((await http("GET", "/api/.well-known/jwks.json", undefined, "not-a-token")).status).toBe(200);
    });
  });

  describe("admin", () => {
    it("should answer GET /api/users with 401 anonymously and 403 for a customer", async () => {
      const { res } = await signup();
      expect((await http("GET", "/api/users")).status).toBe(401);
      const forbidden = await http("GET", "/api/users", undefined, res.body.accessToken);
      expect(forbidden.status).toBe(403);
      expect(forbidden.body).toMatchObject({ code: 403 });
    });

    it("should let the bootstrapped admin page through users, capping pageSize at 100", async () => {
      const admin = await login(ADMIN.email, ADMIN.password);
      expect(admin.status).toBe(200);
      expect(admin.body.user.role).toBe("admin");
      const token = admin.body.accessToken;
      const page = await http("GET", "/api/users?page=2&pageSize=2", undefined, token);
      expect(page.status).toBe(200);
      expect(page.body).toMatchObject({ page: 2, pageSize: 2, total: expect.any(Number) });
      expect(page.body.rows).toHaveLength(2);
      expect(page.body.totalPages).toBe(Math.ceil(page.body.total / 2));
      for (const u of page.body.rows) expect(Object.keys(u).sort()).not.toContain("passwordHash");
      const capped = await http("GET", "/api/users?pageSize=1000", undefined, token);
      expect(capped.body.pageSize).toBe(100);
      expect((await http("GET", "/api/users?page=0", undefined, token)).status).toBe(422);
      expect((await http("GET", "/api/users?sort=email", undefined, token)).status).toBe(422);
      const operator = await http("GET", "/api/users?page[$ne]=1", undefined, token);
      expect(operator.status).toBe(422);
      expect(operator.body.data.map((e: any) => e.field)).toEqual(["page"]);
    });

    it("should create the admin account only once however often the bootstrap runs", async () => {
      const users = broker.getLocalService("users") as any;
      await Promise.all([users.bootstrapAdmin(), users.bootstrapAdmin()]);
      expect(await users.adapter.count({ query: { email: ADMIN.email } })).toBe(1);
    });
  });

  describe("passwords at rest", () => {
    it("should store an argon2id hash with m=19456 KiB, t=2, p=1 and nothing else of the password", async () => {
      const { res, body } = await signup();
      const doc = await (broker.getLocalService("users") as any).adapter.findById(res.body.user.id);
      expect(hashParams(doc.passwordHash)).toEqual({
        algorithm: "argon2id",
        version: 19,
        m: 19456,
        t: 2,
        p: 1,
      });
      expect(JSON.stringify(doc)).not.toContain(body.password);
    });

    it("should store refresh tokens only as SHA-256 hashes", async () => {
      const { res } = await signup();
      const rows = await (broker.getLocalService("tokens") as any).adapter.find({ query: {} });
      const dump = JSON.stringify(rows);
      expect(dump).not.toContain(res.body.refreshToken);
      expect(rows.every((r: any) => /^[0-9a-f]{64}$/.test(r.hash))).toBe(true);
    });
  });

  describe("brute force", () => {
    it("should answer the 11th failed login on one account within 15 minutes with 429 and Retry-After", async () => {
      const { body } = await signup();
      for (let i = 0; i < 10; i++) expect((await login(body.email, `wrong ${i}`)).status).toBe(401);
      const locked = await login(body.email, body.password);
      expect(locked.status).toBe(429);
      expect(locked.body).toMatchObject({ code: 429, type: "TOO_MANY_FAILED_LOGINS" });
      const retryAfter = Number(locked.headers.get("retry-after"));
      expect(retryAfter).toBeGreaterThan(14 * 60);
      expect(retryAfter).toBeLessThanOrEqual(15 * 60);
      const other = await signup();
      expect((await login(other.body.email, other.body.password)).status).toBe(200);
    });

    it("should clear an account's failures after a successful login", async () => {
      const { body } = await signup();
      for (let i = 0; i < 9; i++) await login(body.email, "wrong");
      expect((await login(body.email, body.password)).status).toBe(200);
      for (let i = 0; i < 10; i++) expect((await login(body.email, "wrong")).status).toBe(401);
    });

    it("should not let parallel guesses slip past the limit together", async () => {
      const { body } = await signup();
      const results = await Promise.all(Array.from({ length: 20 }, () => login(body.email, "wrong")));
      expect(results.filter((r) => r.status === 401)).toHaveLength(10);
      expect(results.filter((r) => r.status === 429)).toHaveLength(10);
    });
  });

  describe("what responses never contain", () => {
    it("should never return a password or a password hash in any response", async () => {
      const { res, body } = await signup();
      const token = res.body.accessToken;
      const admin = await login(ADMIN.email, ADMIN.password);
      const responses = [
        res,
        await login(body.email, body.password),
        await me(token),
        await http("PATCH", "/api/user/me", { name: "Z" }, token),
        await http("GET", "/api/users?pageSize=100", undefined, admin.body.accessToken),
      ];
      for (const r of responses) {
        expect(r.text).not.toContain(body.password);
        expect(r.text).not.toMatch(/argon2|passwordHash|_outbox|"_id"/);
      }
    });
  });
});

describe("per-client limits in the gateway", () => {
  let broker: ServiceBroker;
  let http: Awaited<ReturnType<typeof startIdentityNode>>["http"];

  beforeAll(async () => {
    ({ broker, http } = await startIdentityNode({
      AUTH_RATE_LIMIT_PER_MINUTE: "3",
      RATE_LIMIT_PER_MINUTE: "8",
      TRUST_PROXY: "1",
    }));
  });
  afterAll(() => broker?.stop());

  const from = (ip: string) => ({ "x-forwarded-for": `10.9.9.9, ${ip}` });

  it("should answer the 4th signup or login of one client within a minute with 429 and Retry-After", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 2; i++)
      statuses.push(
        (
          await http(
            "POST",
            "/api/user/signup",
            { email: uniqueEmail(), password: "p".repeat(8), name: "R" },
            undefined,
            from("10.0.0.1"),
          )
        ).status,
      );
    statuses.push(
      (
        await http(
          "POST",
          "/api/user/login",
          { email: uniqueEmail(), password: "p" },
          undefined,
          from("10.0.0.1"),
        )
      ).status,
    );
    const fourth = await http(
      "POST",
      "/api/user/login",
      { email: uniqueEmail(), password: "p" },
      undefined,
      from("10.0.0.1"),
    );
    expect(statuses).toEqual([201, 201, 401]);
    expect(fourth.status).toBe(429);
    expect(Number(fourth.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(Number(fourth.headers.get("retry-after"))).toBeLessThanOrEqual(60);
  });

  it("should count another client (by the proxy's X-Forwarded-For entry) separately", async () => {
    const res = await http(
      "POST",
      "/api/user/login",
      { email: uniqueEmail(), password: "p" },
      undefined,
      from("10.0.0.2"),
    );
    expect(res.status).toBe(401);
  });

  it("should answer any route with 429 past RATE_LIMIT_PER_MINUTE for one client", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 9; i++)
      statuses.push(
        (await http("GET", "/api/.well-known/jwks.json", undefined, undefined, from("10.0.0.3"))).status,
      );
    expect(statuses.slice(0, 8).every((s) => s === 200)).toBe(true);
    expect(statuses[8]).toBe(429);
    expect((await http("GET", "/health/live", undefined, undefined, from("10.0.0.3"))).status).toBe(200);
  });
});

describe("X-Forwarded-For without TRUST_PROXY", () => {
  let broker: ServiceBroker;
  let http: Awaited<ReturnType<typeof startIdentityNode>>["http"];

  beforeAll(async () => {
    ({ broker, http } = await startIdentityNode({ RATE_LIMIT_PER_MINUTE: "3" }));
  });
  afterAll(() => broker?.stop());

  it("should ignore X-Forwarded-For, so a client cannot escape its limit by inventing addresses", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++)
      statuses.push(
        (
          await http("GET", "/api/.well-known/jwks.json", undefined, undefined, {
            "x-forwarded-for": `10.1.1.${i}`,
          })
        ).status,
      );
    expect(statuses).toEqual([200, 200, 200, 429]);
  });
});
