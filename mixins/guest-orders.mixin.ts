/**
 * Guest checkout and personal data, for the orders service. What must stay true:
 * - a guest order (userId null) is read or cancelled only with its X-Order-Token: a wrong,
 *   malformed or another order's token is a 404, like another user's order;
 * - the order token is never stored, only its hash; it is derived from the cart token
 *   (domain/guest-tokens.ts), so the 201 and a replay of its Idempotency-Key, which come with
 *   that cart token, can show it, and nothing else can;
 * - the address an order ships to is the one given, the signed-in user's address named by
 *   `shippingAddressId` (another user's: 422), or the user's default;
 * - `user.deleted` strips the user's orders of its email and address lines (not the country)
 *   and forgets its Idempotency-Key answers, which hold them too. Amounts stay.
 */
import { Errors, type Context, type ServiceSchema } from "moleculer";
import {
  Events,
  type EventEnvelope,
  type CartLines,
  type GuestContact,
  type Meta,
  type Order,
  type PlaceOrderParams,
  type ShippingAddress,
} from "../contracts";
import { call } from "../lib/typed";
import { orderView, type OrderDoc } from "../domain/checkout";
import { ORDER_ERASURE } from "../domain/erasure";
import {
  ORDER_TOKEN_HEADER,
  hashOrderToken,
  isCartToken,
  isOrderToken,
  orderTokenFor,
  sameHash,
} from "../domain/guest-tokens";
import { invalidField } from "../domain/rule-error";
import { cartTokenRefused } from "./guest-carts.mixin";

type Ctx<P = Record<string, never>> = Context<P, Meta>;

/** Who places an order, whose cart it empties and where it ships. */
export interface Buyer {
  userId: string | null;
  /** The cart the order's lines leave: the user's (its id) or the guest's. */
  cartId: string;
  email?: string;
  shippingAddress: ShippingAddress;
  /** A guest's cart (lines and pricing choices), read while its token was checked. */
  cart?: CartLines;
}

/** Stored on a guest order besides the usual fields. */
export interface GuestOrderFields {
  cartId: string;
  email?: string;
  orderTokenHash?: string;
}

export interface GuestOrderMethods {
  /** 422 for a malformed guest header, before anything else happens. */
  checkGuestHeaders(ctx: Ctx<unknown>): void;
  buyerOf(ctx: Ctx<PlaceOrderParams>): Promise<Buyer>;
  guestFields(ctx: Ctx<unknown>, buyer: Buyer, orderId: string): GuestOrderFields;
  /** The order as answered to its buyer: a guest's 201 carries its order token. */
  withOrderToken(ctx: Ctx<unknown>, order: Order): Order;
  /** May this caller (no bearer) see the order? Only with its own order token. */
  guestMayRead(ctx: Ctx<unknown>, d: OrderDoc & Partial<GuestOrderFields>): boolean;
}

const notFound = (id: string) => new Errors.MoleculerClientError("Order not found", 404, "NOT_FOUND", { id });

export const GuestOrdersMixin: Partial<ServiceSchema> & { channels: object } = {
  actions: {
    /** Internal: where a guest order's emails go (notifications). */
    guestContact: {
      visibility: "public",
      params: { $$strict: true, orderId: { type: "string", min: 1, max: 100 } },
      async handler(this: any, ctx: Ctx<{ orderId: string }>): Promise<GuestContact> {
        const d: (OrderDoc & GuestOrderFields) | null = await this.adapter.findById(ctx.params.orderId);
        if (!d || d.kind !== "order" || d.userId !== null || !d.email) throw notFound(ctx.params.orderId);
        return { orderId: d._id, email: d.email, name: d.shippingAddress?.name ?? "" };
      },
    },

    /** Internal: every order of a user, for its personal-data export. */
    personalData: {
      visibility: "public",
      params: { $$strict: true, userId: { type: "string", min: 1, max: 100 } },
      async handler(this: any, ctx: Ctx<{ userId: string }>): Promise<{ orders: Order[] }> {
        const docs: OrderDoc[] = await this.adapter.find({
          query: { kind: "order", userId: ctx.params.userId, hidden: false },
          sort: ["-createdAt"],
        });
        return { orders: docs.map(orderView) };
      },
    },
  },

  channels: {
    [Events.userDeleted]: {
      group: "orders",
      async handler(this: any, ctx: Context<EventEnvelope<"user.deleted">>) {
        const { userId } = ctx.params.data;
        await this.adapter.updateMany({ kind: "order", userId }, ORDER_ERASURE);
        await this.adapter.removeMany({ kind: "idem", userId });
      },
    },
  },

  methods: {
    checkGuestHeaders(ctx: Ctx<unknown>) {
      if (ctx.meta.user) return;
      const { cartToken, orderToken } = ctx.meta;
      if (cartToken !== undefined && !isCartToken(cartToken)) throw cartTokenRefused("cartTokenMalformed");
      // A malformed order token is a wrong one: 404, its data naming the header.
      if (orderToken !== undefined && !isOrderToken(orderToken))
        throw new Errors.MoleculerClientError("Order not found", 404, "NOT_FOUND", [
          { field: ORDER_TOKEN_HEADER, type: "orderTokenMalformed" },
        ]);
    },

    async buyerOf(this: any, ctx: Ctx<PlaceOrderParams>): Promise<Buyer> {
      const { shippingAddress, shippingAddressId, email } = ctx.params;
      if (shippingAddress && shippingAddressId)
        throw invalidField(
          "shippingAddressId",
          "addressTwice",
          "Give shippingAddress or shippingAddressId, not both",
        );
      const user = ctx.meta.user;
      if (!user) {
        if (email === undefined) throw invalidField("email", "required", "A guest order needs an email");
        if (shippingAddressId !== undefined)
          throw invalidField("shippingAddressId", "addressUnknown", "A guest has no address book");
        if (!shippingAddress)
          throw invalidField("shippingAddress", "required", "A guest order needs a shippingAddress");
        // Checks the cart token (401 when unusable) and reads the cart in one call.
        const cart = await call(ctx, "carts.callerLines", {});
        return { userId: null, cartId: cart.cartId, email, shippingAddress, cart };
      }
      const address =
        shippingAddress ??
        (await call(ctx, "users.shippingAddress", {
          userId: user.id,
          ...(shippingAddressId !== undefined ? { addressId: shippingAddressId } : {}),
        }));
      if (!address)
        throw shippingAddressId !== undefined
          ? invalidField("shippingAddressId", "addressUnknown", "No such address in your address book")
          : invalidField("shippingAddress", "required", "No shippingAddress given and no default address");
      return { userId: user.id, cartId: user.id, shippingAddress: address };
    },

    guestFields(ctx: Ctx<unknown>, buyer: Buyer, orderId: string): GuestOrderFields {
      if (buyer.userId !== null) return { cartId: buyer.cartId };
      const orderToken = orderTokenFor(ctx.meta.cartToken!, orderId);
      return { cartId: buyer.cartId, email: buyer.email, orderTokenHash: hashOrderToken(orderToken) };
    },

    withOrderToken(ctx: Ctx<unknown>, order: Order): Order {
      const { cartToken } = ctx.meta;
      if (order.userId !== null || ctx.meta.user || !isCartToken(cartToken)) return order;
      return { ...order, orderToken: orderTokenFor(cartToken, order.id) };
    },

    guestMayRead(ctx: Ctx<unknown>, d: OrderDoc & Partial<GuestOrderFields>): boolean {
      const token = ctx.meta.orderToken;
      return d.userId === null && isOrderToken(token) && sameHash(d.orderTokenHash, hashOrderToken(token));
    },
  },
};
