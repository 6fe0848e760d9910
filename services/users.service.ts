/**
 * Accounts: signup, login (credentials only; tokens come from the `tokens` service), the caller's
 * profile, the admin list, and the admin account bootstrapped from ADMIN_EMAIL/ADMIN_PASSWORD.
 */
import { CustomerCountMixin } from "../mixins/admin-reads.mixin";
import { randomUUID } from "node:crypto";
import { Errors, type Context, type ServiceSchema, type ServiceSettingSchema } from "moleculer";
import {
  Events,
  type Actions,
  type EventData,
  type EventEnvelope,
  type Meta,
  type PublicUser,
} from "../contracts";
import { config } from "../lib/config";
import { call } from "../lib/typed";
import { DbMixin } from "../mixins/db.mixin";
import { OutboxMixin } from "../mixins/outbox.mixin";
import { AddressesMixin } from "../mixins/addresses.mixin";
import { PersonalDataMixin } from "../mixins/personal-data.mixin";
import { CART_TOKEN_PATTERN } from "../domain/guest-tokens";
import { hashPassword, verifyPassword } from "../domain/passwords";
import { pageOf, paging } from "../domain/paging";
import { E164, newUserDoc, normalizeEmail, profileUpdate, toPublicUser, type UserDoc } from "../domain/users";

const { MoleculerClientError } = Errors;

type Params<A extends keyof Actions> = Actions[A]["params"];

interface Methods {
  updateOneIf(filter: object, update: object): Promise<UserDoc | null>;
  dbPing(): Promise<boolean>;
  newEvent<E extends keyof EventData>(type: E, key: string, data: EventData[E]): EventEnvelope<E>;
  withOutbox(events: EventEnvelope[]): object;
  flushOutbox(id: string): Promise<void>;
  currentUser(ctx: Context<unknown, Meta>): Promise<UserDoc>;
  forgetProfile(ctx: Context, id: string): Promise<void>;
  /** Sign-in with a guest's cart token: its lines join the user's cart (once). */
  mergeGuestCart(ctx: Context, userId: string, cartToken?: string): Promise<void>;
  bootstrapAdmin(): Promise<void>;
}

interface Vars {
  adapter: any;
  /** Verified instead of a real hash when the email is unknown, so both failures cost the same. */
  dummyHash: string;
  profiles: ProfileCache;
}

const PROFILE_TTL_MS = 60_000;
const PROFILE_CACHE_SIZE = 10_000;
/** Moleculer event (fire-and-forget is enough: it only invalidates caches, which also expire). */
const PROFILE_CHANGED = "users.profileChanged";

/**
 * `GET /api/user/me` comes with most requests of a signed-in client, so profiles are kept in
 * memory for a minute. A change on any node is broadcast and every node forgets that profile.
 * A read that began before any change is not kept, so it cannot bring an old profile back.
 */
export class ProfileCache {
  private readonly entries = new Map<string, { user: PublicUser; expiresAt: number }>();
  /** Bumped by every change: a read keeps its result only if no change happened meanwhile. */
  generation = 0;

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
  ) {}

  get(id: string): PublicUser | undefined {
    const e = this.entries.get(id);
    if (e && e.expiresAt > Date.now()) return e.user;
    if (e) this.entries.delete(id);
    return undefined;
  }

  set(user: PublicUser, readAtGeneration: number): void {
    if (readAtGeneration !== this.generation) return;
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    // Frozen: every later reader gets this same object.
    const frozen = Object.freeze({ ...user, notifications: Object.freeze({ ...user.notifications }) });
    this.entries.set(user.id, { user: frozen, expiresAt: Date.now() + this.ttlMs });
  }

  forget(id: string): void {
    this.entries.delete(id);
    this.generation++;
  }
}

function isDuplicateKey(err: any): boolean {
  return err?.code === 11000 || err?.errorType === "uniqueViolated";
}

const wrongCredentials = () =>
  new MoleculerClientError("Wrong email or password", 401, "INVALID_CREDENTIALS");
const notSignedIn = () => new MoleculerClientError("Unauthorized", 401, "NO_TOKEN");

const email = { type: "email", normalize: true, max: 254 } as const;
const password = { type: "string", min: 8, max: 1024 } as const;
const name = { type: "string", trim: true, min: 1, max: 100 } as const;
/** A guest's X-Cart-Token, given at sign-in to merge that cart. */
const cartToken = {
  type: "string",
  optional: true,
  pattern: CART_TOKEN_PATTERN,
  messages: { stringPattern: "The 'cartToken' field must be a cart token from POST /api/carts." },
} as const;
const phone = {
  type: "string",
  pattern: E164,
  messages: { stringPattern: "The 'phone' field must be E.164, e.g. +14155550123." },
};

const UsersService: ServiceSchema<ServiceSettingSchema, Methods, Vars> = {
  name: "users",
  mixins: [
    DbMixin({ collection: "users", indexes: [{ fields: { email: 1 }, unique: true }] }),
    OutboxMixin,
    AddressesMixin,
    PersonalDataMixin,
    CustomerCountMixin,
  ],

  actions: {
    signup: {
      params: { $$strict: true, email, password, name, phone: { ...phone, optional: true }, cartToken },
      async handler(ctx: Context<Params<"users.signup">, Meta>) {
        const id = randomUUID();
        const { cartToken: guestCart, ...fields } = ctx.params;
        const doc = newUserDoc(id, { ...fields, role: "customer" }, await hashPassword(ctx.params.password));
        const registered = this.newEvent(Events.userRegistered, id, {
          userId: id,
          email: doc.email,
          name: doc.name,
        });
        try {
          await this.adapter.insert({ ...doc, ...this.withOutbox([registered]) });
        } catch (err) {
          if (isDuplicateKey(err))
            throw new MoleculerClientError("Email already registered", 409, "EMAIL_TAKEN");
          throw err;
        }
        await this.flushOutbox(id);
        const tokens = await call(ctx, "tokens.issue", {
          userId: id,
          role: doc.role,
          signedUpAt: doc.createdAt,
        });
        await this.mergeGuestCart(ctx, id, guestCart);
        ctx.meta.$statusCode = 201;
        ctx.meta.$location = "/api/user/me";
        return { user: toPublicUser(doc), ...tokens };
      },
    },

    login: {
      params: {
        $$strict: true,
        email: { type: "string", min: 1, max: 254 },
        password: { type: "string", min: 1, max: 1024 },
        cartToken,
      },
      async handler(ctx: Context<Params<"users.login">, Meta>) {
        const user: UserDoc | null = await this.adapter.findOne({ email: normalizeEmail(ctx.params.email) });
        const ok = await verifyPassword(user?.passwordHash ?? this.dummyHash, ctx.params.password);
        if (!user || !ok) throw wrongCredentials();
        const tokens = await call(ctx, "tokens.issue", {
          userId: user._id,
          role: user.role,
          signedUpAt: user.createdAt,
        });
        await this.mergeGuestCart(ctx, user._id, ctx.params.cartToken);
        return { user: toPublicUser(user), ...tokens };
      },
    },

    me: {
      auth: "required",
      params: { $$strict: true },
      async handler(ctx: Context<Params<"users.me">, Meta>): Promise<PublicUser> {
        const cached = ctx.meta.user && this.profiles.get(ctx.meta.user.id);
        if (cached) return cached;
        const generation = this.profiles.generation;
        const user = toPublicUser(await this.currentUser(ctx));
        this.profiles.set(user, generation);
        return user;
      },
    },

    updateMe: {
      auth: "required",
      params: {
        $$strict: true,
        name: { ...name, optional: true },
        phone: { ...phone, optional: true, nullable: true },
        notifications: {
          type: "object",
          strict: true,
          optional: true,
          props: { email: { type: "boolean", optional: true }, sms: { type: "boolean", optional: true } },
        },
      },
      async handler(ctx: Context<Params<"users.updateMe">, Meta>): Promise<PublicUser> {
        const id = ctx.meta.user?.id;
        const doc = id ? await this.updateOneIf({ _id: id }, profileUpdate(ctx.params)) : null;
        if (!doc) throw notSignedIn();
        await this.forgetProfile(ctx, doc._id);
        return toPublicUser(doc);
      },
    },

    list: {
      auth: "admin",
      params: {
        $$strict: true,
        page: { type: "number", integer: true, positive: true, convert: true, optional: true },
        pageSize: { type: "number", integer: true, positive: true, convert: true, optional: true },
      },
      async handler(ctx: Context<Params<"users.list">, Meta>) {
        if (ctx.meta.user?.role !== "admin") throw new MoleculerClientError("Forbidden", 403, "FORBIDDEN");
        const { page, pageSize, offset, limit } = paging(ctx.params.page, ctx.params.pageSize);
        const [docs, total] = await Promise.all([
          this.adapter.find({ query: {}, sort: ["createdAt", "_id"], offset, limit }),
          this.adapter.count({ query: {} }),
        ]);
        return pageOf((docs as UserDoc[]).map(toPublicUser), total, page, pageSize);
      },
    },

    /** Internal (no route): how notifications reach a user, with their current preferences. */
    contact: {
      visibility: "public",
      params: { $$strict: true, id: "string" },
      async handler(ctx: Context<Params<"users.contact">>) {
        const doc: (UserDoc & { erasedAt?: string }) | null = await this.adapter.findById(ctx.params.id);
        if (!doc || doc.erasedAt)
          throw new MoleculerClientError("User not found", 404, "NOT_FOUND", { id: ctx.params.id });
        const { id, email, name, phone, notifications, createdAt } = toPublicUser(doc);
        return { id, email, name, ...(phone ? { phone } : {}), notifications, createdAt };
      },
    },

    health: {
      visibility: "public",
      async handler() {
        return { service: "users", database: await this.dbPing().catch(() => false) };
      },
    },
  },

  events: {
    [PROFILE_CHANGED]: {
      handler(ctx: Context<{ id: string }>) {
        this.profiles.forget(ctx.params.id);
      },
    },
  },

  methods: {
    async currentUser(ctx: Context<unknown, Meta>): Promise<UserDoc> {
      const id = ctx.meta.user?.id;
      const doc: (UserDoc & { erasedAt?: string }) | null = id ? await this.adapter.findById(id) : null;
      if (!doc || doc.erasedAt) throw notSignedIn();
      return doc;
    },

    async forgetProfile(ctx: Context, id: string) {
      this.profiles.forget(id);
      await ctx.broadcast(PROFILE_CHANGED, { id });
    },

    async mergeGuestCart(ctx: Context, userId: string, guestCart?: string) {
      if (guestCart === undefined) return;
      // The sign-in stands even if the merge fails: the guest token keeps working and a retry merges.
      await call(ctx, "carts.merge", { userId, cartToken: guestCart }).catch((err: any) =>
        this.logger.warn(`Merging a guest cart into user ${userId} failed (${err?.type ?? err?.name}).`),
      );
    },

    /** Every node tries at start; the unique index on email lets exactly one insert win. */
    async bootstrapAdmin() {
      const { email: adminEmail, password: adminPassword } = config().admin;
      if (!adminEmail || !adminPassword) return;
      const existing: UserDoc | null = await this.adapter.findOne({ email: normalizeEmail(adminEmail) });
      if (existing) {
        if (existing.role !== "admin")
          this.logger.warn("ADMIN_EMAIL belongs to an account that is not an admin; it is left as it is.");
        return;
      }
      const doc = newUserDoc(
        randomUUID(),
        { email: adminEmail, name: "Administrator", role: "admin" },
        await hashPassword(adminPassword),
      );
      try {
        await this.adapter.insert(doc);
        this.logger.info(`Admin account ${doc.email} created.`);
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
      }
    },
  },

  created() {
    this.profiles = new ProfileCache(PROFILE_TTL_MS, PROFILE_CACHE_SIZE);
  },

  async started() {
    this.dummyHash = await hashPassword(randomUUID());
    await this.bootstrapAdmin();
  },
};

export default UsersService;
