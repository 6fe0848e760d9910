/**
 * Tokens: short-lived signed access tokens (verified by the gateway without calling here) and
 * rotating refresh tokens, stored only as hashes, grouped in families (domain/refresh-tokens.ts).
 */
import { randomUUID, type KeyObject } from "node:crypto";
import { Errors, type Context, type ServiceSchema, type ServiceSettingSchema } from "moleculer";
import type { Actions, AuthUser, Jwk, Meta, PublicKeyInfo, TokenPair } from "../contracts";
import {
  TokenError,
  loadKeySet,
  signAccessToken,
  toJwk,
  toPublicKeyInfo,
  verifyAccessToken,
  type KeySet,
} from "../lib/auth-tokens";
import { config } from "../lib/config";
import { DbMixin } from "../mixins/db.mixin";
import {
  firstOfFamily,
  hashRefreshToken,
  newRefreshToken,
  rejection,
  revocationUpdate,
  rotationFilter,
  rotationUpdate,
  successor,
  type RefreshTokenDoc,
} from "../domain/refresh-tokens";

const { MoleculerClientError } = Errors;

type Params<A extends keyof Actions> = Actions[A]["params"];

const CLEANUP_MS = 3600_000;

interface Methods {
  updateOneIf(filter: object, update: object): Promise<RefreshTokenDoc | null>;
  dbPing(): Promise<boolean>;
  accessToken(user: AuthUser): { accessToken: string; expiresIn: number };
  revokeFamily(familyId: string, reason: "logout" | "reuse"): Promise<void>;
  refuse(doc: RefreshTokenDoc | null, now: number): Promise<never>;
}

interface Vars {
  adapter: any;
  keys: KeySet;
  jwks: { keys: Jwk[] };
  publicKeyInfo: { keys: PublicKeyInfo[] };
  verifyKeys: Map<string, KeyObject>;
  cleanupTimer?: NodeJS.Timeout;
}

const refreshTokenParam = { $$strict: true, refreshToken: { type: "string", min: 1, max: 512 } } as const;
const invalidRefreshToken = () =>
  new MoleculerClientError("Invalid refresh token", 401, "INVALID_REFRESH_TOKEN");

const TokensService: ServiceSchema<ServiceSettingSchema, Methods, Vars> = {
  name: "tokens",
  mixins: [
    DbMixin({
      collection: "refresh_tokens",
      indexes: [
        { fields: { hash: 1 }, unique: true },
        { fields: { familyId: 1 } },
        { fields: { userId: 1 } },
        { fields: { expiresAt: 1 } },
      ],
    }),
  ],

  actions: {
    jwks: {
      params: { $$strict: true },
      handler(): { keys: Jwk[] } {
        return this.jwks;
      },
    },

    publicKeys: {
      visibility: "public",
      handler(): { keys: PublicKeyInfo[] } {
        return this.publicKeyInfo;
      },
    },

    /** Starts a new family: called by `users` after signup and login. */
    issue: {
      visibility: "public",
      params: {
        userId: "string",
        role: { type: "enum", values: ["customer", "admin"] },
        signedUpAt: { type: "string", max: 40, optional: true },
      },
      async handler(ctx: Context<Params<"tokens.issue">, Meta>): Promise<TokenPair> {
        const refresh = newRefreshToken();
        const { userId, role, signedUpAt } = ctx.params;
        const ids = { id: randomUUID(), familyId: randomUUID(), hash: refresh.hash };
        await this.adapter.insert(firstOfFamily(ids, { userId, role, signedUpAt }, Date.now()));
        return { ...this.accessToken({ id: userId, role, signedUpAt }), refreshToken: refresh.token };
      },
    },

    /**
     * The successor is stored before the presented token is rotated: whoever then loses the
     * rotation and revokes the family for reuse also revokes the winner's successor, whatever
     * the timing. Nobody knows the successor's value until the rotation is won.
     */
    refresh: {
      params: refreshTokenParam,
      async handler(ctx: Context<Params<"tokens.refresh">, Meta>): Promise<TokenPair> {
        const now = Date.now();
        const hash = hashRefreshToken(ctx.params.refreshToken);
        const presented: RefreshTokenDoc | null = await this.adapter.findOne({ hash });
        if (!presented || rejection(presented, now)) return this.refuse(presented, now);

        const next = newRefreshToken();
        const nextDoc = successor(presented, { id: randomUUID(), hash: next.hash }, now);
        await this.adapter.insert(nextDoc);
        const rotated = await this.updateOneIf(rotationFilter(hash, now), rotationUpdate(nextDoc._id, now));
        if (!rotated) {
          await this.adapter.removeById(nextDoc._id);
          return this.refuse(await this.adapter.findOne({ hash }), now);
        }
        const { userId: id, role, signedUpAt } = rotated as RefreshTokenDoc;
        return { ...this.accessToken({ id, role, signedUpAt }), refreshToken: next.token };
      },
    },

    /** Logout: the token's whole family stops working. Unknown tokens are fine: 204 either way. */
    revoke: {
      params: refreshTokenParam,
      async handler(ctx: Context<Params<"tokens.revoke">, Meta>): Promise<null> {
        const doc: RefreshTokenDoc | null = await this.adapter.findOne({
          hash: hashRefreshToken(ctx.params.refreshToken),
        });
        if (doc) await this.revokeFamily(doc.familyId, "logout");
        ctx.meta.$statusCode = 204;
        return null;
      },
    },

    /** Erasure of a user: every family of it stops working at once. */
    revokeUser: {
      visibility: "public",
      params: { $$strict: true, userId: { type: "string", min: 1, max: 100 } },
      async handler(ctx: Context<Params<"tokens.revokeUser">, Meta>): Promise<{ revoked: number }> {
        const revoked: number = await this.adapter.updateMany(
          { userId: ctx.params.userId, state: { $in: ["active", "rotated"] } },
          revocationUpdate("logout", Date.now()),
        );
        return { revoked };
      },
    },

    verify: {
      visibility: "public",
      params: { token: "string" },
      handler(ctx: Context<Params<"tokens.verify">, Meta>): AuthUser {
        const { issuer, audience } = config().jwt;
        try {
          return verifyAccessToken(ctx.params.token, this.verifyKeys, { issuer, audience });
        } catch (err) {
          if (err instanceof TokenError) throw new MoleculerClientError("Unauthorized", 401, "INVALID_TOKEN");
          throw err;
        }
      },
    },

    health: {
      visibility: "public",
      async handler() {
        return { service: "tokens", database: await this.dbPing().catch(() => false) };
      },
    },
  },

  methods: {
    accessToken(user: AuthUser) {
      const { issuer, audience, accessTokenTtl } = config().jwt;
      const accessToken = signAccessToken(this.keys.signing, user, {
        issuer,
        audience,
        ttlSeconds: accessTokenTtl,
      });
      return { accessToken, expiresIn: accessTokenTtl };
    },

    /** 401 for any unusable token; a rotated one presented again also revokes its family. */
    async refuse(doc: RefreshTokenDoc | null, now: number): Promise<never> {
      if (doc && rejection(doc, now) === "reused") {
        await this.revokeFamily(doc.familyId, "reuse");
        this.logger.warn(`Refresh token reused: family ${doc.familyId} of user ${doc.userId} revoked.`);
      }
      throw invalidRefreshToken();
    },

    async revokeFamily(familyId: string, reason: "logout" | "reuse") {
      await this.adapter.updateMany(
        { familyId, state: { $in: ["active", "rotated"] } },
        revocationUpdate(reason, Date.now()),
      );
    },
  },

  created() {
    const cfg = config();
    this.keys = loadKeySet({ ...cfg.jwt, dataDir: cfg.dataDir });
    this.jwks = { keys: this.keys.verify.map(toJwk) };
    this.publicKeyInfo = { keys: this.keys.verify.map(toPublicKeyInfo) };
    this.verifyKeys = new Map(this.keys.verify.map((k) => [k.kid, k.publicKey]));
  },

  async started() {
    // A family past its absolute expiry is dead whatever its state: its rows can go.
    this.cleanupTimer = setInterval(() => {
      this.adapter
        .removeMany({ expiresAt: { $lt: Date.now() } })
        .catch((err: unknown) => this.logger.warn("Removing expired refresh tokens failed", String(err)));
    }, CLEANUP_MS).unref();
  },

  async stopped() {
    clearInterval(this.cleanupTimer);
  },
};

export default TokensService;
