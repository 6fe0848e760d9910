/**
 * The only module services share: action names with their param/result types, event names with
 * their payload types, and the event -> Kafka topic map. Types and constants only.
 */
import type {
  Address,
  AddressInput,
  CartLines,
  GuestCartCreated,
  GuestContact,
  PersonalData,
} from "./guests";

import type { CartChoices, PricingActions, PricingTotals } from "./pricing";
export * from "./pricing";
import type { OrderRisk, ReviewDecision } from "./risk";
import type { Recommendations } from "./recommendations";
import type { AdminStats, LowStockLevel, OrderStats } from "./admin";

// ---- Domain events (durable channels) ----

export const Events = {
  userRegistered: "user.registered",
  productCreated: "product.created",
  productUpdated: "product.updated",
  productDeleted: "product.deleted",
  inventoryLow: "inventory.low",
  orderPlaced: "order.placed",
  orderPaid: "order.paid",
  orderCancelled: "order.cancelled",
  orderPaymentFailed: "order.payment_failed",
  paymentSucceeded: "payment.succeeded",
  paymentFailed: "payment.failed",
  paymentRefunded: "payment.refunded",
  userDeleted: "user.deleted",
  orderRefunded: "order.refunded",
  returnRequested: "return.requested",
  orderHeld: "order.held",
  orderReviewed: "order.reviewed",
} as const;
export type EventName = (typeof Events)[keyof typeof Events];

/** API.md cart and order line: one per variant (a simple product's variant id is its own id). */
export interface OrderLine {
  productId: string;
  variantId: string;
  sku: string;
  name: string;
  variantTitle: string;
  unitPrice: number;
  quantity: number;
  lineTotal: number;
}

/** A cart line; `unavailable`: its variant is inactive or gone, so it is left out of `subtotal`. */
export interface CartItem extends OrderLine {
  unavailable: boolean;
}

/** What a cart or an order is asked to hold: `variantId`, or `productId` of a single-variant product. */
export interface LineRequest {
  productId?: string;
  variantId?: string;
  quantity: number;
}

/** The `data` of each event, as published to Kafka (API.md "Kafka topics"). */
export interface EventData {
  "user.registered": { userId: string; email: string; name: string };
  "product.created": ProductEventData;
  "product.updated": ProductEventData;
  "product.deleted": { productId: string };
  /** `variantId` is the stock id; `productId` its product when inventory knows it, else the stock id. */
  "inventory.low": { productId: string; variantId: string; available: number; threshold: number };
  "order.placed": {
    orderId: string;
    userId: string | null;
    items: OrderLine[];
    total: number;
    currency: string;
    /** The breakdown of `total` (absent from events published before regions). */
    subtotal?: number;
    discountTotal?: number;
    shippingTotal?: number;
    taxTotal?: number;
  };
  "order.paid": {
    orderId: string;
    userId: string | null;
    paymentId: string;
    total: number;
    currency: string;
  };
  "order.cancelled": { orderId: string; userId: string | null; reason: string };
  "order.payment_failed": { orderId: string; userId: string | null; reason: string };
  "payment.succeeded": { paymentId: string; orderId: string; amount: number; currency: string };
  "payment.failed": { paymentId: string; orderId: string; reason: string };
  "payment.refunded": { paymentId: string; orderId: string; amount: number; currency: string };
  /** The user erased its personal data: consumers erase theirs (only the id travels). */
  "user.deleted": { userId: string };
  "order.refunded": RefundEventData;
  "return.requested": ReturnRequestedEventData;
  "order.held": { orderId: string; userId: string; risk: OrderRisk };
  "order.reviewed": { orderId: string; userId: string; decision: ReviewDecision };
}

export interface ProductEventData {
  productId: string;
  sku: string;
  name: string;
  price: number;
  currency: string;
  category: string;
  active: boolean;
  variants: Array<{ variantId: string; sku: string; price: number; active: boolean }>;
}

/** What travels on a channel and, unchanged, as a Kafka record value. */
export interface EventEnvelope<E extends EventName = EventName> {
  eventId: string;
  type: E;
  version: number;
  occurredAt: string;
  /** The aggregate id: the Kafka key, so one aggregate's records stay in order. */
  key: string;
  data: EventData[E];
}

export const KafkaTopics: Record<EventName, string | null> = {
  "user.registered": "user_registered",
  "product.created": "product_created",
  "product.updated": "product_updated",
  "product.deleted": "product_deleted",
  "inventory.low": "inventory_low",
  "order.placed": "order_placed",
  "order.paid": "order_paid",
  "order.cancelled": "order_cancelled",
  "order.payment_failed": "order_payment_failed",
  "payment.succeeded": null,
  "payment.failed": null,
  "payment.refunded": null,
  "user.deleted": "user_deleted",
  "order.refunded": "order_refunded",
  "return.requested": "return_requested",
  "order.held": "order_held",
  "order.reviewed": "order_reviewed",
};

// ---- Actions ----

import type { WebhookDelivery, WebhookEndpoint, WebhookInput } from "./webhooks";

export type Role = "customer" | "admin";

/** Who is calling, set by the gateway from a verified access token. */
export interface AuthUser {
  id: string;
  role: Role;
  /** When the account signed up (ISO), carried by the access token so scoring need not ask users. */
  signedUpAt?: string;
}

export interface Meta {
  user?: AuthUser;
  requestId?: string;
  $statusCode?: number;
  $responseHeaders?: Record<string, string>;
  /** Location header of a 201. */
  $location?: string;
  /** The `Idempotency-Key` header of POST /api/orders, passed on by the gateway. */
  idempotencyKey?: string;
  /** POST /api/payments/webhook: the raw body (base64) and its `Payment-Signature` header. */
  webhook?: { rawBody: string; signature?: string };
  /** A guest's X-Cart-Token / X-Order-Token, passed on by the gateway only when no bearer came. */
  cartToken?: string;
  orderToken?: string;
  /** POST /api/orders: the client's address (lib/rate-limit.ts clientAddress), a risk feature. */
  clientAddress?: string;
}

export interface Jwk {
  kty: string;
  kid: string;
  alg: string;
  use: "sig";
  [k: string]: unknown;
}

export interface HealthResult {
  service: string;
  database: boolean;
}

/** What a route or an action asks of the caller (gateway `authenticate`/`authorize`). */
export type AuthRequirement = "required" | "admin";

declare module "moleculer" {
  interface ActionSchema {
    /** Read by the gateway: a bearer token is needed ("required"), and with the admin role ("admin"). */
    auth?: AuthRequirement;
  }
}

export interface NotificationPrefs {
  email: boolean;
  sms: boolean;
}

/** API.md `user`: never a password or its hash. */
export interface PublicUser {
  id: string;
  email: string;
  name: string;
  phone?: string;
  role: Role;
  notifications: NotificationPrefs;
  createdAt: string;
}

/** What notifications need to reach a user (internal: never exposed over HTTP). */
export interface UserContact {
  id: string;
  email: string;
  name: string;
  phone?: string;
  notifications: NotificationPrefs;
  /** The account's signup time (the order risk's account age). */
  createdAt?: string;
}

export interface Delivery {
  id: string;
  channel: "email" | "sms";
  template: string;
  to: string | null;
  status: "sent" | "failed" | "skipped";
  eventId: string;
  createdAt: string;
}

export interface TokenPair {
  accessToken: string;
  refreshToken: string;
  /** Seconds until the access token expires. */
  expiresIn: number;
}

export interface Page<T> {
  rows: T[];
  total: number;
  page: number;
  pageSize: number;
  totalPages: number;
}

export interface PublicKeyInfo {
  kid: string;
  pem: string;
  alg: string;
}

// ---- Catalog and inventory ----

/**
 * Moleculer built-in broadcasts, fire-and-forget, for cache invalidation only: a product or its
 * stock changed, so every node running `products` clears its cached reads.
 */
export const CacheClean = { products: "cache.clean.products" } as const;

/**
 * Durable channels inside the cluster that are no domain events (never on Kafka).
 * `inventory.availability`: a stock record went from some units available to none or back; the
 * products service then re-reads the levels and keeps its `inStock` flag (the `?inStock` filter).
 */
export const InternalChannels = { inventoryAvailability: "inventory.availability" } as const;
export interface AvailabilityChanged {
  stockId: string;
  available: number;
}

export type ProductSort = "price" | "-price" | "name" | "-name" | "createdAt" | "-createdAt";

export interface ProductOption {
  name: string;
  values: string[];
}

/** API.md `variant`: stock is per variant; a simple product's one variant has the product's id. */
export interface Variant {
  id: string;
  sku: string;
  title: string;
  options: Record<string, string>;
  price: number;
  currency: string;
  prices: Record<string, number>;
  available: number;
  active: boolean;
}

/**
 * API.md `product`; `price` is its lowest active variant price and `available` the sum over its
 * active variants (units in stock not reserved, from inventory).
 */
export interface Product {
  id: string;
  sku: string;
  name: string;
  description: string;
  price: number;
  currency: string;
  prices: Record<string, number>;
  category: string;
  images: string[];
  active: boolean;
  available: number;
  options: ProductOption[];
  variants: Variant[];
  createdAt: string;
  updatedAt: string;
}

export interface VariantInput {
  sku: string;
  options: Record<string, string>;
  price?: number;
  prices?: Record<string, number>;
  stock?: number;
}

export interface ProductInput {
  name: string;
  price: number;
  currency?: string;
  prices?: Record<string, number>;
  description?: string;
  category?: string;
  sku?: string;
  images?: string[];
  options?: ProductOption[];
  variants?: VariantInput[];
}

export interface ProductListParams {
  page?: number;
  pageSize?: number;
  q?: string;
  category?: string;
  minPrice?: number;
  maxPrice?: number;
  sort?: ProductSort;
  inStock?: boolean;
  options?: Record<string, string>;
}

export interface StockLevel {
  productId: string;
  available: number;
  reserved: number;
}

/** inventory.get of a product id: the sums over its variants, and each variant's level. */
export interface ProductStockLevel extends StockLevel {
  variants: { variantId: string; sku: string; available: number; reserved: number }[];
}

export interface ReservationLine {
  productId: string;
  quantity: number;
}

/**
 * pending: taking stock; reserved: held until expiresAt; failed: a line lacked stock, nothing held;
 * committed: sold; released: given back (also after commit, for a cancelled order); expired: swept.
 */
export type ReservationState = "pending" | "reserved" | "failed" | "committed" | "released" | "expired";

export interface Reservation {
  orderId: string;
  state: ReservationState;
  lines: ReservationLine[];
  expiresAt: string;
}

// ---- Checkout: carts, orders, payments ----

export type OrderStatus =
  | "pending"
  | "confirmed"
  | "shipped"
  | "delivered"
  | "payment_failed"
  | "cancelled"
  | "requires_action"
  | "on_hold";
/** voided: the order was refunded before any charge existed, so none will be made for it. */
/** requires_action: the customer must act (3-D Secure); a provider webhook settles it. */
export type PaymentStatus = "processing" | "succeeded" | "failed" | "refunded" | "voided" | "requires_action";

/** API.md `cart`. */
export interface Cart extends PricingTotals {
  /** The cart's id: a user's cart is keyed by its user, a guest cart by its token's hash. */
  id: string;
  items: CartItem[];
  subtotal: number;
  currency: string;
  updatedAt: string;
}

export interface ShippingAddress {
  name: string;
  line1: string;
  line2?: string;
  city: string;
  postalCode: string;
  country: string;
}

/** API.md `order`; `total` is what is charged. */
export interface Order extends PricingTotals {
  id: string;
  /** null for a guest's order. */
  userId: string | null;
  /** A guest order's buyer address. */
  email?: string;
  /** Only in the 201 of a guest checkout (and its Idempotency-Key replay). */
  orderToken?: string;
  items: OrderLine[];
  subtotal: number;
  total: number;
  currency: string;
  status: OrderStatus;
  payment: { id: string | null; status: PaymentStatus | "pending"; clientSecret?: string };
  shippingAddress: ShippingAddress;
  history: { status: OrderStatus; at: string }[];
  refundedTotal: number;
  returns: string[];
  createdAt: string;
  updatedAt: string;
  /** Admins only (GET /api/orders, /api/orders/:id, the review): never in a customer's answer. */
  risk?: OrderRisk;
}

export interface PlaceOrderParams {
  items?: LineRequest[];
  regionId?: string;
  shippingOptionId?: string;
  promotionCode?: string;
  payment: { method: "card"; token: string };
  /** One of shippingAddress, shippingAddressId, or (signed in) the default address. */
  shippingAddress?: ShippingAddress;
  shippingAddressId?: string;
  /** Required for a guest. */
  email?: string;
}

export interface Payment {
  id: string;
  orderId: string;
  userId: string;
  amount: number;
  currency: string;
  status: PaymentStatus;
  provider: string;
  chargeId?: string;
  reason?: string;
  /** While `requires_action`: what the client needs to finish the payment (Stripe.js). */
  clientSecret?: string;
  /** Refunded so far (partial refunds and the final one). */
  refundedAmount?: number;
  /** Provider webhooks that changed this payment, in the order applied. */
  webhooks: { id: string; type: string; at: string }[];
  createdAt: string;
  updatedAt: string;
}

export interface Actions extends PricingActions {
  "tokens.jwks": { params: Record<string, never>; result: { keys: Jwk[] } };
  "tokens.publicKeys": { params: Record<string, never>; result: { keys: PublicKeyInfo[] } };
  "tokens.issue": { params: { userId: string; role: Role; signedUpAt?: string }; result: TokenPair };
  "tokens.refresh": { params: { refreshToken: string }; result: TokenPair };
  "tokens.revoke": { params: { refreshToken: string }; result: null };
  "tokens.verify": { params: { token: string }; result: AuthUser };
  "users.signup": {
    params: { email: string; password: string; name: string; phone?: string; cartToken?: string };
    result: { user: PublicUser } & TokenPair;
  };
  "users.login": {
    params: { email: string; password: string; cartToken?: string };
    result: { user: PublicUser } & TokenPair;
  };
  "users.me": { params: Record<string, never>; result: PublicUser };
  "users.updateMe": {
    params: { name?: string; phone?: string | null; notifications?: Partial<NotificationPrefs> };
    result: PublicUser;
  };
  "users.list": { params: { page?: number; pageSize?: number }; result: Page<PublicUser> };
  "users.contact": { params: { id: string }; result: UserContact };
  "users.addresses": { params: Record<string, never>; result: { rows: Address[] } };
  "users.addAddress": { params: AddressInput; result: Address };
  "users.updateAddress": { params: Partial<AddressInput> & { id: string }; result: Address };
  "users.removeAddress": { params: { id: string }; result: null };
  /** Internal: the address an order of this user ships to (the one named, else the default). */
  "users.shippingAddress": { params: { userId: string; addressId?: string }; result: ShippingAddress | null };
  "users.exportMe": { params: Record<string, never>; result: PersonalData };
  "users.deleteMe": { params: { password: string }; result: null };
  "tokens.revokeUser": { params: { userId: string }; result: { revoked: number } };
  "carts.create": { params: Record<string, never>; result: GuestCartCreated };
  /** Internal: merges the guest cart into the user's, once; false when there was nothing to merge. */
  "carts.merge": { params: { userId: string; cartToken: string }; result: { merged: boolean } };
  /** Internal: the lines of the caller's cart (a guest's from ctx.meta.cartToken; 401 when unusable). */
  "carts.callerLines": { params: Record<string, never>; result: CartLines };
  "orders.guestContact": { params: { orderId: string }; result: GuestContact };
  "orders.personalData": { params: { userId: string }; result: { orders: Order[] } };
  "notifications.personalData": { params: { userId: string }; result: { notifications: Delivery[] } };
  "notifications.list": { params: { page?: number; pageSize?: number }; result: Page<Delivery> };
  "products.list": { params: ProductListParams; result: Page<Product> };
  "products.get": { params: { id: string }; result: Product };
  "products.create": { params: ProductInput & { stock?: number }; result: Product };
  "products.update": { params: Partial<ProductInput> & { id: string }; result: Product };
  "products.remove": { params: { id: string }; result: null };
  /** Internal: the product a variant id belongs to (a simple product's own id names its variant). */
  "products.variantOf": { params: { variantId: string }; result: { productId: string } };
  /** productId: a stock (variant) id, or a product id (then the sums and its variants). */
  "inventory.get": { params: { productId: string }; result: StockLevel | ProductStockLevel };
  /** Levels of the known products among productIds (at most 100), in no particular order. */
  "inventory.getMany": { params: { productIds: string[] }; result: StockLevel[] };
  "inventory.set": { params: { productId: string; available: number }; result: StockLevel };
  /** Creates the product's stock record with `available`, or sets it if the record exists. */
  "inventory.init": { params: { productId: string; available: number }; result: StockLevel };
  /** All-or-nothing, idempotent by orderId; 409 INSUFFICIENT_STOCK naming the product that lacks. */
  "inventory.reserve": { params: { orderId: string; lines: ReservationLine[] }; result: Reservation };
  /** Idempotent; gives held stock back, or sold stock after a commit (a cancelled order). */
  "inventory.release": { params: { orderId: string }; result: Reservation };
  /** Idempotent; 409 RESERVATION_NOT_ACTIVE unless reserved or already committed. */
  "inventory.commit": { params: { orderId: string }; result: Reservation };
  "carts.get": { params: Record<string, never>; result: Cart };
  "carts.addItem": { params: LineRequest; result: Cart };
  /** `productId` is the route's `:id`: the variant id of the line. */
  "carts.updateItem": { params: { productId: string; quantity: number }; result: Cart };
  "carts.removeItem": { params: { productId: string }; result: Cart };
  "carts.clear": { params: Record<string, never>; result: null };
  "carts.setPricing": {
    params: { regionId?: string | null; countryCode?: string; shippingOptionId?: string | null };
    result: Cart;
  };
  "carts.applyPromotion": { params: { code: string }; result: Cart };
  "carts.removePromotion": { params: { code: string }; result: Cart };
  /** Internal: the user's cart lines as stored (the checkout prices them itself). */
  "carts.linesOf": {
    params: { userId: string };
    result: { items: Required<LineRequest>[] } & CartChoices;
  };
  /** Internal, idempotent by orderId: takes an order's quantities out of the cart it was placed from. */
  "carts.removeOrdered": {
    params: { userId: string; orderId: string; lines: LineRequest[] };
    result: null;
  };
  "orders.place": { params: PlaceOrderParams; result: Order };
  "orders.get": { params: { id: string }; result: Order };
  "orders.list": {
    params: {
      page?: number;
      pageSize?: number;
      userId?: string;
      status?: string;
      from?: string;
      to?: string;
    };
    result: Page<Order>;
  };
  "orders.cancel": { params: { id: string }; result: Order };
  "orders.setStatus": { params: { id: string; status: "shipped" | "delivered" }; result: Order };
  /** Internal, idempotent by orderId: one payment per order, captured at most once. */
  "payments.charge": {
    params: { orderId: string; userId: string; amount: number; currency: string; token: string };
    result: Payment;
  };
  /** Internal, idempotent: refunds a captured payment, or voids the order's future charge. */
  "payments.refund": { params: { orderId: string }; result: Payment };
  "payments.get": { params: { orderId: string }; result: Payment };
  /** Internal, idempotent by refundId: refunds part of a captured payment through its provider. */
  "payments.refundPart": {
    params: { orderId: string; refundId: string; amount: number };
    result: { refundId: string; status: RefundStatus; amount: number };
  };
  /** Internal: asks the provider where a payment needing the customer's action stands now. */
  "payments.sync": { params: { orderId: string }; result: Payment };
  "payments.stripeWebhook": { params: Record<string, unknown>; result: { received: true; applied: boolean } };
  "orders.refund": { params: { id: string; amount: number; reason: string }; result: Refund };
  "orders.requestReturn": {
    params: { id: string; items: ReturnLine[]; reason: string };
    result: OrderReturn;
  };
  "orders.listReturns": {
    params: { page?: number; pageSize?: number; status?: ReturnStatus };
    result: Page<OrderReturn>;
  };
  "orders.receiveReturn": { params: { id: string; restock?: boolean }; result: OrderReturn };
  "orders.rejectReturn": { params: { id: string; reason: string }; result: OrderReturn };
  /** Idempotent by key: puts units back into a variant's stock (a received return). */
  "inventory.restock": { params: { productId: string; quantity: number; key: string }; result: StockLevel };
  /** Admin: charges and confirms an order on hold, or cancels it and releases its stock. */
  "orders.review": { params: { id: string; decision: ReviewDecision }; result: Order };
  "recommendations.forProduct": { params: { id: string }; result: Recommendations };
  "recommendations.forUser": { params: Record<string, never>; result: Recommendations };
  "payments.webhook": {
    params: { id: string; type: string; data: { chargeId: string; reason?: string } };
    result: { received: true; applied: boolean };
  };
  "webhooks.list": { params: { page?: number; pageSize?: number }; result: Page<WebhookEndpoint> };
  "webhooks.create": { params: WebhookInput; result: WebhookEndpoint & { secret: string } };
  "webhooks.update": { params: Partial<WebhookInput> & { id: string }; result: WebhookEndpoint };
  "webhooks.remove": { params: { id: string }; result: null };
  "webhooks.deliveries": {
    params: { id: string; page?: number; pageSize?: number };
    result: Page<WebhookDelivery>;
  };
  /** Internal (admin stats): figures of the orders placed in [from, to). */
  "orders.stats": { params: { from: string; to: string }; result: OrderStats };
  /** Internal (admin stats): stock records below threshold, lowest first (at most 100). */
  "inventory.lowStock": { params: { threshold: number }; result: LowStockLevel[] };
  /** Internal (admin stats): customer accounts created before `to`. */
  "users.countCustomers": { params: { to: string }; result: { customers: number } };
  "api.adminStats": { params: { from?: string; to?: string }; result: AdminStats };
}
export type ActionName = keyof Actions;

export * from "./guests";
export * from "./refunds";
import type {
  OrderReturn,
  Refund,
  RefundEventData,
  RefundStatus,
  ReturnLine,
  ReturnRequestedEventData,
  ReturnStatus,
} from "./refunds";
export * from "./risk";
export * from "./recommendations";
export * from "./admin";

/** Every DB-backed service answers `<name>.health` for the gateway's readiness check. */
export const HEALTH_ACTION = "health";

export * from "./webhooks";
