/**
 * Access tokens: signing keys, their JWKs, signing and local verification. Shared by the tokens
 * service (which signs) and the gateway (which verifies with the public keys only).
 *
 * RS256, not EdDSA: jsonwebtoken 9 cannot sign or verify EdDSA.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from "node:crypto";
import jwt from "jsonwebtoken";
import type { AuthUser, Jwk, PublicKeyInfo, Role } from "../contracts";
import { readOrGenerate } from "./generated-secret";

export const ACCESS_ALG = "RS256";
const ROLES: readonly Role[] = ["customer", "admin"];
const GENERATED_KEY_FILE = "jwt-private-key.pem";

export interface SigningKey {
  kid: string;
  privateKey: KeyObject;
}

export interface VerifyKey {
  kid: string;
  publicKey: KeyObject;
}

export interface KeySet {
  signing: SigningKey;
  /** Every key whose tokens are accepted: the signing one plus any still valid after a rotation. */
  verify: VerifyKey[];
}

/** RFC 7638 thumbprint: the same key gives the same kid on every node. */
export function kidOf(publicKey: KeyObject): string {
  const { e, kty, n } = publicKey.export({ format: "jwk" });
  return createHash("sha256").update(JSON.stringify({ e, kty, n })).digest("base64url");
}

function checkRsa(key: KeyObject, variable: string): void {
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (key.asymmetricKeyType !== "rsa" || bits < 2048)
    throw new Error(`${variable} must be an RSA key of at least 2048 bits (tokens are ${ACCESS_ALG})`);
}

function pemBlocks(text: string): string[] {
  return text.match(/-----BEGIN [A-Z ]+-----[\s\S]+?-----END [A-Z ]+-----/g) ?? [];
}

/**
 * Keys from JWT_PRIVATE_KEY / JWT_PUBLIC_KEY (the public one may hold several PEM blocks: the
 * signing key's and the retired ones still accepted), else one key generated into DATA_DIR.
 */
export function loadKeySet(opts: { privateKey?: string; publicKey?: string; dataDir: string }): KeySet {
  const privatePem = opts.privateKey ?? generatedKey(opts.dataDir);
  const privateKey = createPrivateKey(privatePem);
  checkRsa(privateKey, "JWT_PRIVATE_KEY");
  const signingPublic = createPublicKey(privateKey);
  const signing = { kid: kidOf(signingPublic), privateKey };

  const verify = new Map<string, VerifyKey>([[signing.kid, { kid: signing.kid, publicKey: signingPublic }]]);
  if (opts.publicKey) {
    const given = pemBlocks(opts.publicKey).map((pem) => createPublicKey(pem));
    for (const k of given) {
      checkRsa(k, "JWT_PUBLIC_KEY");
      verify.set(kidOf(k), { kid: kidOf(k), publicKey: k });
    }
    if (!given.some((k) => kidOf(k) === signing.kid))
      throw new Error("JWT_PUBLIC_KEY must contain the public key of JWT_PRIVATE_KEY");
  }
  return { signing, verify: [...verify.values()] };
}

/** The key generated into DATA_DIR on a first start (read back on every later one). */
function generatedKey(dataDir: string): string {
  return readOrGenerate(dataDir, GENERATED_KEY_FILE, () => {
    const { privateKey } = generateKeyPairSync("rsa", {
      modulusLength: 2048,
      privateKeyEncoding: { type: "pkcs8", format: "pem" },
      publicKeyEncoding: { type: "spki", format: "pem" },
    });
    return privateKey;
  });
}

export function toJwk(key: VerifyKey): Jwk {
  const { kty, n, e } = key.publicKey.export({ format: "jwk" });
  return { kty: kty!, n, e, kid: key.kid, alg: ACCESS_ALG, use: "sig" };
}

export function toPublicKeyInfo(key: VerifyKey): PublicKeyInfo {
  return {
    kid: key.kid,
    alg: ACCESS_ALG,
    pem: key.publicKey.export({ format: "pem", type: "spki" }) as string,
  };
}

export interface TokenClaimsOptions {
  issuer: string;
  audience: string;
}

export function signAccessToken(
  key: SigningKey,
  user: AuthUser,
  opts: TokenClaimsOptions & { ttlSeconds: number },
): string {
  const claims = user.signedUpAt ? { role: user.role, signedUpAt: user.signedUpAt } : { role: user.role };
  return jwt.sign(claims, key.privateKey, {
    algorithm: ACCESS_ALG,
    keyid: key.kid,
    subject: user.id,
    issuer: opts.issuer,
    audience: opts.audience,
    expiresIn: opts.ttlSeconds,
  });
}

export class TokenError extends Error {
  constructor(readonly reason: "malformed" | "unknown-key" | "invalid" | "expired") {
    super(`access token rejected: ${reason}`);
    this.name = "TokenError";
  }
}

/** The `kid` of a token's header, without trusting anything else in it. */
export function tokenKid(token: string): string {
  const decoded = jwt.decode(token, { complete: true });
  const kid = decoded?.header?.kid;
  if (!decoded || typeof kid !== "string") throw new TokenError("malformed");
  return kid;
}

/**
 * Verifies signature, algorithm (pinned: `alg` in the header is never trusted), issuer, audience
 * and expiry; returns who is calling and until when (epoch ms).
 */
export function checkAccessToken(
  token: string,
  keys: ReadonlyMap<string, KeyObject>,
  opts: TokenClaimsOptions,
): { user: AuthUser; expiresAt: number } {
  const key = keys.get(tokenKid(token));
  if (!key) throw new TokenError("unknown-key");
  let payload: jwt.JwtPayload | string;
  try {
    payload = jwt.verify(token, key, {
      algorithms: [ACCESS_ALG],
      issuer: opts.issuer,
      audience: opts.audience,
    });
  } catch (err) {
    throw new TokenError(err instanceof jwt.TokenExpiredError ? "expired" : "invalid");
  }
  if (
    typeof payload === "string" ||
    typeof payload.sub !== "string" ||
    typeof payload.exp !== "number" ||
    !ROLES.includes(payload.role)
  )
    throw new TokenError("invalid");
  const user: AuthUser = { id: payload.sub, role: payload.role };
  // Tokens signed before the claim was carried have none: scoring then asks users.
  if (typeof payload.signedUpAt === "string") user.signedUpAt = payload.signedUpAt;
  return { user, expiresAt: payload.exp * 1000 };
}

export function verifyAccessToken(
  token: string,
  keys: ReadonlyMap<string, KeyObject>,
  opts: TokenClaimsOptions,
): AuthUser {
  return checkAccessToken(token, keys, opts).user;
}
