/**
 * Guest carts for the carts service: a cart behind an X-Cart-Token (domain/guest-tokens.ts),
 * whose document id derives from the token's hash, so the rest of the service treats it as any
 * cart. What must stay true:
 * - a bearer always means the user's cart; a guest token reaches only its own guest cart (its id
 *   starts with `guest:`, a user id never does);
 * - an unknown, idle-expired or merged token answers 401, and nothing of it is logged;
 * - a merge moves a guest cart into exactly one user's cart, once: the guest cart is claimed for
 *   that user first (`mergingInto`), the user's cart remembers it merged it, then it is removed.
 *   A retried sign-in, or two at once, add nothing twice.
 */
import { Errors, type Context, type ServiceSchema } from "moleculer";
import { Events, type CartLines, type EventEnvelope, type GuestCartCreated, type Meta } from "../contracts";
import { config } from "../lib/config";
import { emptyCart, normalizeLine, type CartDoc } from "../domain/cart";
import { carriedChoices, mergeLines, rememberMerge, type CartChoices } from "../domain/cart-merge";
import { isDuplicateKey } from "../domain/catalog";
import {
  CART_TOKEN_HEADER,
  CART_TOKEN_PATTERN,
  guestCartId,
  isCartToken,
  isIdle,
  needsTouch,
  newCartToken,
} from "../domain/guest-tokens";
import type { DbIndexSettings } from "./db.mixin";

const SWEEP_MS = 3600_000;
const DAY_MS = 86_400_000;

/** A guest cart as stored: a cart plus what only guests have. */
export type GuestCartDoc = CartDoc &
  CartChoices & {
    guest: true;
    lastUsedAtMs: number;
    /** Set once a sign-in claimed it: from then on the token answers 401. */
    mergingInto?: string;
  };

type UserCartDoc = CartDoc & CartChoices & { mergedCarts?: string[] };
type Ctx<P = Record<string, never>> = Context<P, Meta>;

export interface GuestCartMethods {
  /** The id of the cart the caller may use: the user's (a bearer wins), else the guest's; 401 otherwise. */
  cartIdOf(ctx: Ctx<unknown>): Promise<string>;
  mergeInto(userId: string, guest: GuestCartDoc): Promise<void>;
}

/**
 * 401 for a cart token that cannot be used, naming the header: a malformed one too, since without
 * a bearer a cart token is the credential (as a malformed bearer token is a 401).
 */
export const cartTokenRefused = (type: "cartTokenMalformed" | "cartTokenUnknown") =>
  new Errors.MoleculerClientError(
    type === "cartTokenMalformed"
      ? `${CART_TOKEN_HEADER} is not a cart token`
      : "Unknown or expired cart token",
    401,
    "INVALID_CART_TOKEN",
    [{ field: CART_TOKEN_HEADER, type }],
  );

export const GuestCartsMixin: Partial<ServiceSchema> & { channels: object } = {
  settings: {
    dbIndexes: { guestIdle: { fields: { lastUsedAtMs: 1 }, sparse: true } },
  } as DbIndexSettings,

  actions: {
    /** POST /api/carts: a new, empty guest cart; its token is shown only here. */
    create: {
      params: { $$strict: true },
      async handler(this: any, ctx: Ctx): Promise<GuestCartCreated> {
        const cartToken = newCartToken();
        const now = new Date();
        const doc: GuestCartDoc = {
          ...emptyCart(guestCartId(cartToken), now.toISOString()),
          guest: true,
          lastUsedAtMs: now.getTime(),
        };
        await this.adapter.insert(doc);
        ctx.meta.$statusCode = 201;
        return { cartToken, cart: await this.view(ctx, doc) };
      },
    },

    merge: {
      visibility: "public",
      params: {
        $$strict: true,
        userId: { type: "string", min: 1, max: 100 },
        cartToken: { type: "string", pattern: CART_TOKEN_PATTERN },
      },
      async handler(
        this: any,
        ctx: Ctx<{ userId: string; cartToken: string }>,
      ): Promise<{ merged: boolean }> {
        const { userId, cartToken } = ctx.params;
        const id = guestCartId(cartToken);
        let guest: GuestCartDoc | null = await this.adapter.findById(id);
        if (!guest?.guest) return { merged: false };
        if (guest.mergingInto !== userId) {
          if (guest.mergingInto || isIdle(guest.lastUsedAtMs, Date.now(), this.guestTtlMs))
            return { merged: false };
          guest =
            (await this.updateOneIf(
              { _id: id, mergingInto: { $exists: false } },
              { $set: { mergingInto: userId } },
            )) ?? (await this.adapter.findById(id));
          // Another sign-in claimed it first: it is that user's now.
          if (guest?.mergingInto !== userId) return { merged: false };
        }
        await this.mergeInto(userId, guest);
        await this.adapter.removeById(id);
        return { merged: true };
      },
    },

    /** For the checkout: the caller's cart lines, named by the cart's id (a guest's token stays here). */
    callerLines: {
      visibility: "public",
      params: { $$strict: true },
      async handler(this: any, ctx: Ctx): Promise<CartLines> {
        const cartId: string = await this.cartIdOf(ctx);
        const doc: CartDoc | null = await this.adapter.findById(cartId);
        return {
          cartId,
          items: (doc?.items ?? []).map(normalizeLine).map(({ productId, variantId, quantity }) => ({
            productId,
            variantId,
            quantity,
          })),
          regionId: doc?.regionId ?? null,
          shippingOptionId: doc?.shippingOptionId ?? null,
          promotionCode: doc?.promotionCode ?? null,
        };
      },
    },
  },

  channels: {
    [Events.userDeleted]: {
      group: "carts",
      async handler(this: any, ctx: Context<EventEnvelope<"user.deleted">>) {
        await this.adapter.removeById(ctx.params.data.userId);
      },
    },
  },

  methods: {
    async cartIdOf(this: any, ctx: Ctx<unknown>): Promise<string> {
      if (ctx.meta.user) return ctx.meta.user.id;
      const token = ctx.meta.cartToken;
      if (token === undefined) throw new Errors.MoleculerClientError("Unauthorized", 401, "NO_TOKEN", {});
      if (!isCartToken(token)) throw cartTokenRefused("cartTokenMalformed");
      const id = guestCartId(token);
      const doc: GuestCartDoc | null = await this.adapter.findById(id);
      const now = Date.now();
      if (!doc?.guest || doc.mergingInto || isIdle(doc.lastUsedAtMs, now, this.guestTtlMs))
        throw cartTokenRefused("cartTokenUnknown");
      if (needsTouch(doc.lastUsedAtMs, now))
        await this.updateOneIf({ _id: id }, { $set: { lastUsedAtMs: now } });
      return id;
    },

    async mergeInto(this: any, userId: string, guest: GuestCartDoc): Promise<void> {
      const guestItems = guest.items.map(normalizeLine);
      for (;;) {
        const cur: UserCartDoc | null = await this.adapter.findById(userId);
        if (cur?.mergedCarts?.includes(guest._id)) return;
        const now = new Date().toISOString();
        const { items } = mergeLines((cur?.items ?? []).map(normalizeLine), guestItems);
        const set = {
          items,
          ...carriedChoices(cur ?? {}, guest),
          mergedCarts: rememberMerge(cur?.mergedCarts, guest._id),
          updatedAt: now,
        };
        if (!cur) {
          try {
            await this.adapter.insert({ ...emptyCart(userId, now), ...set, version: 1 });
            return;
          } catch (err) {
            if (!isDuplicateKey(err)) throw err;
            continue;
          }
        }
        if (
          await this.updateOneIf(
            { _id: userId, version: cur.version },
            { $set: { ...set, version: cur.version + 1 } },
          )
        )
          return;
      }
    },
  },

  created(this: any) {
    this.guestTtlMs = config().guestCarts.ttlDays * DAY_MS;
  },

  started(this: any) {
    this.guestSweep = setInterval(() => {
      this.adapter
        .removeMany({ guest: true, lastUsedAtMs: { $lt: Date.now() - this.guestTtlMs } })
        .catch((err: unknown) => this.logger.warn("Removing idle guest carts failed", String(err)));
    }, SWEEP_MS).unref();
  },

  stopped(this: any) {
    clearInterval(this.guestSweep);
  },
};
