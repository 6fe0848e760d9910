/** Guest carts, guest checkout, the address book and personal data (API.md "Guest carts, ..."). */
import type { Cart, Delivery, Order, PublicUser } from "./index";
import type { CartChoices } from "./pricing";

/** API.md `address`. */
export interface Address {
  id: string;
  name: string;
  line1: string;
  line2?: string;
  city: string;
  postalCode: string;
  country: string;
  phone?: string;
  isDefault: boolean;
}

export type AddressInput = Omit<Address, "id" | "isDefault"> & { isDefault?: boolean };

/** Which header a route also takes in place of a bearer token (the bearer wins when both come). */
export type GuestCredential = "cart" | "order";

declare module "moleculer" {
  interface ActionSchema {
    /** Read by the gateway: without a bearer, this guest header stands in for it. */
    guest?: GuestCredential;
  }
}

export interface GuestCartCreated {
  cartToken: string;
  cart: Cart;
}

/** GET /api/user/me/export: everything stored about the user. */
export interface PersonalData {
  user: PublicUser;
  addresses: Address[];
  orders: Order[];
  notifications: Delivery[];
}

/** How notifications reach the buyer of a guest order (internal). */
export interface GuestContact {
  orderId: string;
  email: string;
  name: string;
}

/** What the checkout takes from the buyer's cart: a guest's is named by its id, never its token. */
/** A cart's lines and its pricing choices (region, shipping option, code), for checkout. */
export interface CartLines extends CartChoices {
  cartId: string;
  items: { productId: string; variantId: string; quantity: number }[];
}
