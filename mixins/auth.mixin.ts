/**
 * The gateway's side of identity: `authenticate`/`authorize` for moleculer-web, and throttling.
 *
 * Access tokens are verified here, locally, with the public keys fetched once from
 * `tokens.publicKeys`: no call per request. A token with an unknown `kid` triggers one refetch
 * (at most every KEY_REFETCH_MS), which is how a rotated-in key becomes known.
 *
 * What a request needs is declared with `auth: "required" | "admin"` on the route or on the action
 * (the stricter wins). A token that fails verification on a route that needs none is ignored.
 */
import { createHash, createPublicKey, type KeyObject } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { Context, ServiceSchema } from "moleculer";
import ApiGateway from "moleculer-web";
import type { AuthRequirement, AuthUser, GuestCredential, Meta } from "../contracts";
import { TokenError, checkAccessToken, tokenKid } from "../lib/auth-tokens";
import { config } from "../lib/config";
import { clientAddress, createCounterStore, type CounterStore, type Hit } from "../lib/rate-limit";
import { call } from "../lib/typed";

const { UnAuthorizedError, ForbiddenError, RateLimitExceeded, ServiceUnavailableError } = ApiGateway.Errors;

const KEY_REFETCH_MS = 10_000;
/** Verified tokens remembered (until they expire), so a client's repeated requests skip the RSA check. */
const VERIFIED_CACHE_SIZE = 10_000;
const KEY_MAX_AGE_MS = 5 * 60_000;
const MINUTE = 60_000;
const LOGIN_WINDOW_MS = 15 * MINUTE;
/** Actions under the per-client AUTH_RATE_LIMIT_PER_MINUTE: the ones that guess or spend passwords. */
const AUTH_THROTTLED = new Set(["users.signup", "users.login", "users.deleteMe"]);
const LOGIN_ACTION = "users.login";
/** Guest carts are free to make: their creation has its own per-client limit. */
const GUEST_CART_CREATE = "carts.create";
/** The header a guest presents in place of a bearer token, and where the gateway passes it on. */
const GUEST_HEADERS: Record<GuestCredential, { header: string; meta: "cartToken" | "orderToken" }> = {
  cart: { header: "x-cart-token", meta: "cartToken" },
  order: { header: "x-order-token", meta: "orderToken" },
};

type Req = IncomingMessage & {
  $action?: { name: string; auth?: AuthRequirement; guest?: GuestCredential };
  $params?: Record<string, unknown>;
  $ctx?: Context<unknown, Meta>;
  /** Set while a login attempt is counted against its account. */
  $loginKey?: string;
};
type Route = { opts: { auth?: AuthRequirement } };
type Ctx = Context<unknown, Meta>;

function requirement(route: Route, req: Req): AuthRequirement | undefined {
  const [a, b] = [route.opts?.auth, req.$action?.auth];
  return a === "admin" || b === "admin" ? "admin" : (a ?? b);
}

function bearerToken(header: string): string {
  // The scheme is case-insensitive (RFC 7235); what follows is checked by the verification.
  return header.slice(0, 7).toLowerCase() === "bearer " ? header.slice(7).trim() : "";
}

function setHeaders(ctx: Ctx, headers: Record<string, string>) {
  ctx.meta.$responseHeaders = { ...ctx.meta.$responseHeaders, ...headers };
}

function unauthorized(ctx: Ctx, type: "NO_TOKEN" | "INVALID_TOKEN") {
  setHeaders(ctx, { "WWW-Authenticate": type === "NO_TOKEN" ? "Bearer" : 'Bearer error="invalid_token"' });
  return new UnAuthorizedError(type, {});
}

function tooMany(ctx: Ctx, type: string, resetMs: number) {
  const seconds = Math.max(1, Math.ceil(resetMs / 1000));
  setHeaders(ctx, { "Retry-After": String(seconds) });
  return new RateLimitExceeded(type, { retryAfter: seconds });
}

interface Vars {
  publicKeys: Map<string, KeyObject>;
  keysFetchedAt: number;
  keysLoading?: Promise<void>;
  verified: Map<string, { user: AuthUser; expiresAt: number }>;
  counters: CounterStore & { ready?: () => Promise<void> };
}

export const GatewayAuthMixin: ServiceSchema = {
  name: "",
  methods: {
    /** Synchronous for the common cases (no token, a token verified before): it runs on every request. */
    authenticate(
      this: Vars & any,
      ctx: Ctx,
      route: Route,
      req: Req,
    ): AuthUser | null | Promise<AuthUser | null> {
      const header = req.headers.authorization;
      if (!header) return null;
      const token = bearerToken(header);
      const hit = this.verified.get(token);
      if (hit && hit.expiresAt > Date.now()) return hit.user;
      return this.verifyBearer(token).catch((err: unknown) => {
        if (!requirement(route, req)) return null;
        throw err instanceof TokenError ? unauthorized(ctx, "INVALID_TOKEN") : err;
      });
    },

    authorize(ctx: Ctx, route: Route, req: Req): void {
      const need = requirement(route, req);
      if (!need) return;
      const guest = req.$action?.guest && GUEST_HEADERS[req.$action.guest];
      const guestToken = guest && req.headers[guest.header];
      // The bearer wins: a guest token is passed on only when no user signed in.
      if (!ctx.meta.user && guest && typeof guestToken === "string") {
        ctx.meta[guest.meta] = guestToken;
        return;
      }
      if (!ctx.meta.user) throw unauthorized(ctx, "NO_TOKEN");
      if (need === "admin" && ctx.meta.user.role !== "admin") throw new ForbiddenError("FORBIDDEN", {});
    },

    async verifyBearer(this: Vars & any, token: string): Promise<AuthUser> {
      if (!token) throw new TokenError("malformed");
      const { issuer, audience } = config().jwt;
      const kid = tokenKid(token);
      const age = Date.now() - this.keysFetchedAt;
      if (this.publicKeys.size === 0 || (!this.publicKeys.has(kid) && age >= KEY_REFETCH_MS))
        await this.fetchKeys();
      else if (age >= KEY_MAX_AGE_MS) void this.fetchKeys().catch(() => undefined);
      const checked = checkAccessToken(token, this.publicKeys, { issuer, audience });
      // Only tokens that passed every check get here; they are kept no longer than they are valid.
      if (this.verified.size >= VERIFIED_CACHE_SIZE) this.verified.delete(this.verified.keys().next().value);
      this.verified.set(token, checked);
      return checked.user;
    },

    /** One fetch at a time; without any key at all, requests that need one get 503. */
    fetchKeys(this: Vars & any): Promise<void> {
      this.keysLoading ??= call(this.broker, "tokens.publicKeys", {})
        .then(({ keys }) => {
          this.publicKeys = new Map(keys.map((k) => [k.kid, createPublicKey(k.pem)]));
          // A key may have been withdrawn: what was verified with it must be verified again.
          this.verified.clear();
          this.keysFetchedAt = Date.now();
        })
        .catch((err: unknown) => {
          this.keysFetchedAt = Date.now();
          if (this.publicKeys.size === 0) {
            this.logger.warn("Cannot fetch the token verification keys", String(err));
            throw new ServiceUnavailableError("NO_VERIFICATION_KEYS", {});
          }
        })
        .finally(() => (this.keysLoading = undefined));
      return this.keysLoading;
    },

    /** moleculer-web `onBeforeCall` of the API route: the per-client limit on every request. */
    throttle(this: Vars & any, ctx: Ctx, req: Req, action: string): void | Promise<void> {
      const cfg = config();
      const client = clientAddress(req, cfg.trustProxy);
      const check = (all: Hit) => {
        if (all.count > cfg.rateLimitPerMinute) throw tooMany(ctx, "RATE_LIMITED", all.resetMs);
      };
      const all = this.counters.hit(`all:${client}`, MINUTE);
      if (action === GUEST_CART_CREATE)
        return Promise.resolve(all)
          .then(check)
          .then(() => this.counters.hit(`guestcart:${client}`, MINUTE))
          .then((made: Hit) => {
            if (made.count > cfg.guestCarts.createPerMinute) throw tooMany(ctx, "RATE_LIMITED", made.resetMs);
          });
      if (AUTH_THROTTLED.has(action))
        return Promise.resolve(all)
          .then(check)
          .then(() => this.throttleAuth(ctx, req, action, client));
      return all instanceof Promise ? all.then(check) : check(all);
    },

    /** Signup and login: the per-client auth limit, then, for a login, the per-account failures. */
    async throttleAuth(this: Vars & any, ctx: Ctx, req: Req, action: string, client: string): Promise<void> {
      const cfg = config();
      const auth = await this.counters.hit(`auth:${client}`, MINUTE);
      if (auth.count > cfg.authRateLimitPerMinute) throw tooMany(ctx, "RATE_LIMITED", auth.resetMs);
      const email = req.$params?.email;
      if (action === LOGIN_ACTION && typeof email === "string") {
        // Counted before the attempt, so parallel guesses cannot slip past the limit together.
        const account = createHash("sha256").update(email.trim().toLowerCase()).digest("base64url");
        const key = `login:${account}`;
        const failures = await this.counters.hit(key, LOGIN_WINDOW_MS);
        if (failures.count > cfg.loginMaxFailures)
          throw tooMany(ctx, "TOO_MANY_FAILED_LOGINS", failures.resetMs);
        req.$loginKey = key;
      }
    },

    /** A login that succeeded clears its account's failures; one refused for another reason than the credentials does not count. */
    async loginSettled(this: Vars & any, req: Req, err?: { code?: number }): Promise<void> {
      const key = req.$loginKey;
      if (!key) return;
      req.$loginKey = undefined;
      if (!err) await this.counters.reset(key);
      else if (err.code !== 401) await this.counters.undo(key);
    },
  },

  created(this: Vars & any) {
    this.publicKeys = new Map();
    this.verified = new Map();
    this.keysFetchedAt = 0;
    const cfg = config();
    this.counters = createCounterStore(cfg.redisUrl, `${cfg.namespace || "shop"}:rl:`, (msg: string) =>
      this.logger.warn(msg),
    );
  },

  async started(this: Vars & any) {
    await this.counters.ready?.();
  },

  async stopped(this: Vars & any) {
    await this.counters.close();
  },
};
