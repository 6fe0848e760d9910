import { spawn } from "node:child_process";
import { createHmac, createPublicKey, generateKeyPairSync } from "node:crypto";
import fs from "node:fs";
import type { IncomingMessage } from "node:http";
import os from "node:os";
import path from "node:path";
import jwt from "jsonwebtoken";
import { ARGON2_PARAMS, hashParams, hashPassword, verifyPassword } from "../../domain/passwords";
import {
  ABSOLUTE_TTL_MS,
  IDLE_TTL_MS,
  firstOfFamily,
  hashRefreshToken,
  newRefreshToken,
  rejection,
  rotationFilter,
  successor,
} from "../../domain/refresh-tokens";
import { E164, newUserDoc, normalizeEmail, profileUpdate, toPublicUser } from "../../domain/users";
import { paging } from "../../domain/paging";
import {
  TokenError,
  kidOf,
  loadKeySet,
  signAccessToken,
  toJwk,
  verifyAccessToken,
  type KeySet,
} from "../../lib/auth-tokens";
import { MemoryCounterStore, clientAddress } from "../../lib/rate-limit";
import { ProfileCache } from "../../services/users.service";
import { NODE_BIN, ROOT } from "../support/cluster";

const tmpDir = () => fs.mkdtempSync(path.join(os.tmpdir(), "identity-unit-"));
const pemPair = (type: "rsa" | "ed25519" = "rsa") =>
  generateKeyPairSync(type as any, {
    modulusLength: 2048,
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  }) as unknown as { privateKey: string; publicKey: string };

describe("passwords", () => {
  it("should hash with argon2id, 19456 KiB, 2 iterations, parallelism 1", async () => {
    const hash = await hashPassword("correct horse battery");
    expect(hashParams(hash)).toEqual({ algorithm: "argon2id", version: 19, m: 19456, t: 2, p: 1 });
    expect(ARGON2_PARAMS).toMatchObject({ memoryCost: 19456, timeCost: 2, parallelism: 1 });
  });

  it("should verify the right password and refuse a wrong one or a malformed hash", async () => {
    const hash = await hashPassword("correct horse battery");
    expect(await verifyPassword(hash, "correct horse battery")).toBe(true);
    expect(await verifyPassword(hash, "correct horse batterY")).toBe(false);
    expect(await verifyPassword("not-a-hash", "anything")).toBe(false);
  });

  it("should salt every hash", async () => {
    expect(await hashPassword("same")).not.toBe(await hashPassword("same"));
  });
});

describe("user rules", () => {
  const doc = newUserDoc(
    "u1",
    { email: "  Ann@Example.COM ", name: " Ann ", role: "customer" },
    "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
    new Date("2025-01-02T03:04:05.000Z"),
  );

  it("should trim and lower-case emails", () => {
    expect(normalizeEmail("  Ann@Example.COM ")).toBe("ann@example.com");
    expect(doc.email).toBe("ann@example.com");
  });

  it("should give the public shape: id, no hash, no storage fields, default preferences", () => {
    const pub = toPublicUser({ ...doc, _outbox: [], _outboxPending: false } as any);
    expect(pub).toEqual({
      id: "u1",
      email: "ann@example.com",
      name: "Ann",
      role: "customer",
      notifications: { email: true, sms: true },
      createdAt: "2025-01-02T03:04:05.000Z",
    });
  });

  it("should accept E.164 phone numbers only", () => {
    for (const ok of ["+14155550123", "+33612345678", "+12"]) expect(E164.test(ok)).toBe(true);
    for (const bad of ["14155550123", "+0123", "+1 415 555", "+1234567890123456", "+1a"])
      expect(E164.test(bad)).toBe(false);
  });

  it("should turn a profile patch into $set of the given fields only, and `phone: null` into $unset", () => {
    const now = new Date("2025-02-01T00:00:00.000Z");
    expect(profileUpdate({ name: " Bea ", notifications: { sms: false } }, now)).toEqual({
      $set: { updatedAt: now.toISOString(), name: "Bea", "notifications.sms": false },
    });
    expect(profileUpdate({ phone: null }, now)).toEqual({
      $set: { updatedAt: now.toISOString() },
      $unset: { phone: true },
    });
  });

  it("should page 1-based and cap the page size at 100", () => {
    expect(paging()).toEqual({ page: 1, pageSize: 20, offset: 0, limit: 20 });
    expect(paging(3, 10)).toEqual({ page: 3, pageSize: 10, offset: 20, limit: 10 });
    expect(paging(1, 1000).pageSize).toBe(100);
  });
});

describe("the profile cache of `users`", () => {
  const user = (name: string) => ({
    id: "u1",
    email: "a@b.c",
    name,
    role: "customer" as const,
    notifications: { email: true, sms: true },
    createdAt: "2025-01-01T00:00:00.000Z",
  });

  it("should keep a profile until it expires", async () => {
    const cache = new ProfileCache(30, 10);
    cache.set(user("Ann"), cache.generation);
    expect(cache.get("u1")?.name).toBe("Ann");
    await new Promise((r) => setTimeout(r, 40));
    expect(cache.get("u1")).toBeUndefined();
  });

  it("should not keep a profile read before a change, so a slow read cannot bring it back", () => {
    const cache = new ProfileCache(60_000, 10);
    const readStartedAt = cache.generation;
    cache.forget("u1");
    cache.set(user("Old"), readStartedAt);
    expect(cache.get("u1")).toBeUndefined();
    cache.set(user("New"), cache.generation);
    expect(cache.get("u1")?.name).toBe("New");
  });

  it("should hold a bounded number of profiles, dropping the oldest", () => {
    const cache = new ProfileCache(60_000, 2);
    for (const id of ["a", "b", "c"]) cache.set({ ...user(id), id }, cache.generation);
    expect([cache.get("a"), cache.get("b")?.id, cache.get("c")?.id]).toEqual([undefined, "b", "c"]);
  });
});

describe("refresh-token families", () => {
  const now = 1_700_000_000_000;
  const first = firstOfFamily(
    { id: "t1", familyId: "f1", hash: "h1" },
    { userId: "u1", role: "customer" },
    now,
  );

  it("should make 256-bit random tokens and store only their SHA-256", () => {
    const { token, hash } = newRefreshToken();
    expect(Buffer.from(token, "base64url")).toHaveLength(32);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(hash).toBe(hashRefreshToken(token));
    expect(newRefreshToken().token).not.toBe(token);
  });

  it("should start a family with a 30-day absolute and a 7-day idle expiry", () => {
    expect(first).toMatchObject({ state: "active", familyId: "f1", userId: "u1", role: "customer" });
    expect(first.expiresAt - now).toBe(ABSOLUTE_TTL_MS);
    expect(first.idleExpiresAt - now).toBe(IDLE_TTL_MS);
  });

  it("should keep the family's absolute expiry on rotation and never let the idle one pass it", () => {
    const later = now + ABSOLUTE_TTL_MS - 3600_000;
    const next = successor(first, { id: "t2", hash: "h2" }, later);
    expect(next).toMatchObject({ familyId: "f1", userId: "u1", state: "active", expiresAt: first.expiresAt });
    expect(next.idleExpiresAt).toBe(first.expiresAt);
  });

  it("should carry the account's signup time from the family's first token to every successor", () => {
    const since = "2025-01-02T03:04:05.000Z";
    const signed = firstOfFamily(
      { id: "t1", familyId: "f1", hash: "h1" },
      { userId: "u1", role: "customer", signedUpAt: since },
      now,
    );
    expect(successor(signed, { id: "t2", hash: "h2" }, now + 1).signedUpAt).toBe(since);
    expect(successor(first, { id: "t2", hash: "h2" }, now + 1)).not.toHaveProperty("signedUpAt");
  });

  it("should rotate only an active token that has not expired in either way", () => {
    expect(rotationFilter("h1", now)).toEqual({
      hash: "h1",
      state: "active",
      expiresAt: { $gt: now },
      idleExpiresAt: { $gt: now },
    });
  });

  it("should call a rotated token presented again a reuse, and tell revoked and expired apart", () => {
    expect(rejection(first, now)).toBeNull();
    expect(rejection(null, now)).toBe("unknown");
    expect(rejection({ ...first, state: "rotated" }, now)).toBe("reused");
    expect(rejection({ ...first, state: "revoked" }, now)).toBe("revoked");
    expect(rejection(first, first.idleExpiresAt)).toBe("expired");
  });
});

describe("access-token keys", () => {
  it("should generate one RSA key into DATA_DIR on the first start and reuse it afterwards", () => {
    const dir = tmpDir();
    const a = loadKeySet({ dataDir: dir });
    const b = loadKeySet({ dataDir: dir });
    expect(a.signing.kid).toBe(b.signing.kid);
    expect(fs.readdirSync(dir)).toEqual(["jwt-private-key.pem"]);
    expect(fs.statSync(path.join(dir, "jwt-private-key.pem")).mode & 0o077).toBe(0);
  });

  it("should end with one key when several processes start at once on one DATA_DIR", async () => {
    const lib = path.join(ROOT, "dist", "lib", "auth-tokens.js");
    expect(fs.existsSync(lib)).toBe(true); // built by `npm test`'s pretest
    const dir = tmpDir();
    const script = `console.log(require(${JSON.stringify(lib)}).loadKeySet({ dataDir: ${JSON.stringify(dir)} }).signing.kid)`;
    const kids = await Promise.all(
      Array.from(
        { length: 6 },
        () =>
          new Promise<string>((resolve, reject) => {
            const p = spawn(NODE_BIN, ["-e", script], { stdio: ["ignore", "pipe", "inherit"] });
            let out = "";
            p.stdout.on("data", (d) => (out += d));
            p.on("exit", (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`exit ${code}`))));
          }),
      ),
    );
    expect(new Set(kids).size).toBe(1);
    expect(fs.readdirSync(dir)).toEqual(["jwt-private-key.pem"]);
  });

  it("should take keys from JWT_PRIVATE_KEY / JWT_PUBLIC_KEY and accept every public key given, by kid", () => {
    const current = pemPair();
    const retired = pemPair();
    const set = loadKeySet({
      privateKey: current.privateKey,
      publicKey: `${current.publicKey}\n${retired.publicKey}`,
      dataDir: tmpDir(),
    });
    expect(set.signing.kid).toBe(kidOf(createPublicKey(current.publicKey)));
    expect(set.verify.map((k) => k.kid).sort()).toEqual(
      [kidOf(createPublicKey(current.publicKey)), kidOf(createPublicKey(retired.publicKey))].sort(),
    );
    expect(toJwk(set.verify[0])).toMatchObject({
      kty: "RSA",
      alg: "RS256",
      use: "sig",
      kid: set.signing.kid,
    });
  });

  it("should refuse a JWT_PUBLIC_KEY without the signing key's public half, and a non-RSA key", () => {
    const a = pemPair();
    const b = pemPair();
    expect(() => loadKeySet({ privateKey: a.privateKey, publicKey: b.publicKey, dataDir: tmpDir() })).toThrow(
      /JWT_PUBLIC_KEY/,
    );
    const ed = pemPair("ed25519");
    expect(() =>
      loadKeySet({ privateKey: ed.privateKey, publicKey: ed.publicKey, dataDir: tmpDir() }),
    ).toThrow(/RSA/);
  });
});

describe("access-token verification", () => {
  const opts = { issuer: "iss-test", audience: "aud-test" };
  const pair = pemPair();
  let set: KeySet;
  let keys: Map<string, any>;
  let token: string;

  beforeAll(() => {
    set = loadKeySet({ privateKey: pair.privateKey, publicKey: pair.publicKey, dataDir: tmpDir() });
    keys = new Map(set.verify.map((k) => [k.kid, k.publicKey]));
    token = signAccessToken(set.signing, { id: "u1", role: "admin" }, { ...opts, ttlSeconds: 60 });
  });

  const reason = (t: string) => {
    try {
      verifyAccessToken(t, keys, opts);
      return "accepted";
    } catch (err) {
      return err instanceof TokenError ? err.reason : String(err);
    }
  };
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");

  it("should sign RS256 with kid, iss, aud, sub, role and exp, and verify it back", () => {
    const { header, payload } = jwt.decode(token, { complete: true }) as any;
    expect(header).toEqual({ alg: "RS256", typ: "JWT", kid: set.signing.kid });
    expect(payload).toMatchObject({ iss: "iss-test", aud: "aud-test", sub: "u1", role: "admin" });
    expect(payload.exp - payload.iat).toBe(60);
    expect(verifyAccessToken(token, keys, opts)).toEqual({ id: "u1", role: "admin" });
  });

  it("should carry the account's signup time as a claim when it is known", () => {
    const user = { id: "u1", role: "customer" as const, signedUpAt: "2025-01-02T03:04:05.000Z" };
    const signed = signAccessToken(set.signing, user, { ...opts, ttlSeconds: 60 });
    expect(jwt.decode(signed)).toMatchObject({ signedUpAt: user.signedUpAt });
    expect(verifyAccessToken(signed, keys, opts)).toEqual(user);
  });

  it("should refuse `alg: none`, HS256 keyed with the public key, and an edited payload", () => {
    const [h, p, s] = token.split(".");
    const payload = jwt.decode(token) as object;
    expect(reason(`${b64({ alg: "none", kid: set.signing.kid })}.${p}.`)).toBe("invalid");
    const hsHead = b64({ alg: "HS256", typ: "JWT", kid: set.signing.kid });
    const hsSig = createHmac("sha256", pair.publicKey).update(`${hsHead}.${p}`).digest("base64url");
    expect(reason(`${hsHead}.${p}.${hsSig}`)).toBe("invalid");
    expect(reason(`${h}.${b64({ ...payload, sub: "u2" })}.${s}`)).toBe("invalid");
  });

  it("should refuse the wrong issuer, the wrong audience, an expired token and an unknown role", () => {
    const sign = (claims: object, o: jwt.SignOptions) =>
      jwt.sign(claims, pair.privateKey, { algorithm: "RS256", keyid: set.signing.kid, subject: "u1", ...o });
    expect(reason(sign({ role: "admin" }, { issuer: "x", audience: "aud-test", expiresIn: 60 }))).toBe(
      "invalid",
    );
    expect(reason(sign({ role: "admin" }, { issuer: "iss-test", audience: "x", expiresIn: 60 }))).toBe(
      "invalid",
    );
    const exp = Math.floor(Date.now() / 1000) - 1;
    expect(reason(sign({ role: "admin", exp }, { issuer: "iss-test", audience: "aud-test" }))).toBe(
      "expired",
    );
    expect(reason(sign({ role: "root" }, { issuer: "iss-test", audience: "aud-test", expiresIn: 60 }))).toBe(
      "invalid",
    );
  });

  it("should refuse an unknown kid, a foreign key under a known kid, and what is not a JWT", () => {
    const other = pemPair();
    const foreign = (kid: string) =>
      jwt.sign({ role: "admin" }, other.privateKey, {
        algorithm: "RS256",
        keyid: kid,
        subject: "u1",
        ...opts,
      });
    expect(reason(foreign("nope"))).toBe("unknown-key");
    expect(reason(foreign(set.signing.kid))).toBe("invalid");
    expect(reason(newRefreshToken().token)).toBe("malformed");
    expect(reason("a.b.c")).toBe("malformed");
  });
});

describe("rate-limit counters and client addresses", () => {
  it("should count hits in a fixed window, take one back on undo and start over on reset", async () => {
    const store = new MemoryCounterStore();
    try {
      expect((await store.hit("k", 60_000)).count).toBe(1);
      const second = await store.hit("k", 60_000);
      expect(second.count).toBe(2);
      expect(second.resetMs).toBeGreaterThan(59_000);
      await store.undo("k");
      expect((await store.hit("k", 60_000)).count).toBe(2);
      await store.reset("k");
      expect((await store.hit("k", 60_000)).count).toBe(1);
    } finally {
      await store.close();
    }
  });

  it("should start a new window once the old one has passed", async () => {
    const store = new MemoryCounterStore();
    await store.hit("w", 20);
    await new Promise((r) => setTimeout(r, 30));
    expect((await store.hit("w", 20)).count).toBe(1);
    await store.close();
  });

  const req = (remote: string, xff?: string) =>
    ({
      socket: { remoteAddress: remote },
      headers: xff ? { "x-forwarded-for": xff } : {},
    }) as unknown as IncomingMessage;

  it("should use the socket address and ignore X-Forwarded-For unless the proxy is trusted", () => {
    expect(clientAddress(req("::ffff:127.0.0.1", "1.2.3.4"), false)).toBe("127.0.0.1");
    expect(clientAddress(req("127.0.0.1"), true)).toBe("127.0.0.1");
  });

  it("should take the address the trusted proxy appended last, not the one the client wrote", () => {
    expect(clientAddress(req("10.0.0.1", "6.6.6.6, 203.0.113.9"), true)).toBe("203.0.113.9");
  });
});
