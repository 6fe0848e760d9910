/* Generated from services/api/graphql/schema.ts by `npm run graphql:types`: do not edit. */

export interface GqlAddress {
  name?: string | null;
  line1?: string | null;
  line2?: string | null;
  city?: string | null;
  postalCode?: string | null;
  country: string;
}

export interface GqlAddressInput {
  name: string;
  line1: string;
  line2?: string | null;
  city: string;
  postalCode: string;
  country: string;
}

export interface GqlAuthPayload {
  user: GqlUser;
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
}

export interface GqlCart {
  id?: string | null;
  items: Array<GqlCartItem>;
  subtotal: number;
  currency: string;
  updatedAt: string;
  regionId?: string | null;
  promotionCode?: string | null;
  discountTotal?: number | null;
  shippingOption?: GqlShippingChoice | null;
  shippingTotal?: number | null;
  taxRate?: number | null;
  taxInclusive?: boolean | null;
  taxTotal?: number | null;
  total?: number | null;
}

export interface GqlCartItem {
  productId: string;
  variantId: string;
  sku: string;
  name: string;
  variantTitle: string;
  unitPrice: number;
  quantity: number;
  lineTotal: number;
  unavailable: boolean;
  product?: GqlProduct | null;
  variant?: GqlVariant | null;
}

export interface GqlCartLineInput {
  productId?: string | null;
  variantId?: string | null;
  quantity: number;
}

export interface GqlFacetFilter {
  q?: string | null;
  category?: string | null;
  minPrice?: number | null;
  maxPrice?: number | null;
}

export interface GqlFacets {
  categories: Array<GqlFacetValue>;
  options: Record<string, unknown>;
  price: GqlPriceRange;
}

export interface GqlFacetValue {
  value: string;
  count: number;
}

export interface GqlLoginInput {
  email: string;
  password: string;
  cartToken?: string | null;
}

export interface MutationSignupArgs {
  input: GqlSignupInput;
}

export interface MutationLoginArgs {
  input: GqlLoginInput;
}

export interface MutationRefreshTokenArgs {
  refreshToken: string;
}

export interface MutationAddToCartArgs {
  input: GqlCartLineInput;
}

export interface MutationUpdateCartItemArgs {
  id: string;
  quantity: number;
}

export interface MutationApplyPromotionArgs {
  code: string;
}

export interface MutationPlaceOrderArgs {
  input: GqlPlaceOrderInput;
  idempotencyKey?: string | null;
}

export interface MutationCancelOrderArgs {
  id: string;
}

export interface GqlNotificationPrefs {
  email: boolean;
  sms: boolean;
}

export interface GqlOptionFilter {
  name: string;
  value: string;
}

export interface GqlOrder {
  id: string;
  userId?: string | null;
  email?: string | null;
  orderToken?: string | null;
  items: Array<GqlOrderLine>;
  subtotal: number;
  total: number;
  currency: string;
  status: string;
  payment: GqlOrderPayment;
  shippingAddress: GqlAddress;
  history: Array<GqlStatusChange>;
  createdAt: string;
  updatedAt: string;
  regionId?: string | null;
  promotionCode?: string | null;
  discountTotal?: number | null;
  shippingOption?: GqlShippingChoice | null;
  shippingTotal?: number | null;
  taxRate?: number | null;
  taxInclusive?: boolean | null;
  taxTotal?: number | null;
  refundedTotal?: number | null;
}

export interface GqlOrderLine {
  productId: string;
  variantId: string;
  sku: string;
  name: string;
  variantTitle: string;
  unitPrice: number;
  quantity: number;
  lineTotal: number;
  product?: GqlProduct | null;
  variant?: GqlVariant | null;
}

export interface GqlOrderPage {
  rows: Array<GqlOrder>;
  total: number;
  page: number;
  pageSize: number;
  totalPages: number;
}

export interface GqlOrderPayment {
  id?: string | null;
  status: string;
  clientSecret?: string | null;
}

export interface GqlPaymentInput {
  method: string;
  token: string;
}

export interface GqlPlaceOrderInput {
  items?: Array<GqlCartLineInput> | null;
  payment: GqlPaymentInput;
  shippingAddress?: GqlAddressInput | null;
  shippingAddressId?: string | null;
  regionId?: string | null;
  shippingOptionId?: string | null;
  promotionCode?: string | null;
  email?: string | null;
}

export interface GqlPriceRange {
  min?: number | null;
  max?: number | null;
}

export interface GqlProduct {
  id: string;
  sku: string;
  name: string;
  description: string;
  price: number;
  currency: string;
  prices: Record<string, unknown>;
  category: string;
  images: Array<string>;
  active: boolean;
  available: number;
  options: Array<GqlProductOption>;
  variants: Array<GqlVariant>;
  createdAt: string;
  updatedAt: string;
  stock?: GqlStockLevel | null;
}

export interface GqlProductFilter {
  q?: string | null;
  category?: string | null;
  minPrice?: number | null;
  maxPrice?: number | null;
  sort?: string | null;
  inStock?: boolean | null;
  options?: Array<GqlOptionFilter> | null;
}

export interface GqlProductOption {
  name: string;
  values: Array<string>;
}

export interface GqlProductPage {
  rows: Array<GqlProduct>;
  total: number;
  page: number;
  pageSize: number;
  totalPages: number;
}

export interface QueryProductsArgs {
  filter?: GqlProductFilter | null;
  page?: number | null;
  pageSize?: number | null;
}

export interface QueryProductArgs {
  id: string;
}

export interface QueryFacetsArgs {
  filter?: GqlFacetFilter | null;
}

export interface QueryOrdersArgs {
  page?: number | null;
  pageSize?: number | null;
}

export interface QueryOrderArgs {
  id: string;
}

export interface QueryRecommendationsArgs {
  productId: string;
}

export interface GqlRecommendations {
  rows: Array<GqlProduct>;
  strategy: string;
}

export interface GqlShippingChoice {
  id: string;
  name: string;
  amount: number;
}

export interface GqlSignupInput {
  email: string;
  password: string;
  name: string;
  phone?: string | null;
  cartToken?: string | null;
}

export interface GqlStatusChange {
  status: string;
  at: string;
}

export interface GqlStockLevel {
  productId: string;
  available: number;
  reserved: number;
}

export interface GqlTokenPair {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
}

export interface GqlUser {
  id: string;
  email: string;
  name: string;
  phone?: string | null;
  role: string;
  notifications: GqlNotificationPrefs;
  createdAt: string;
}

export interface GqlVariant {
  id: string;
  sku: string;
  title: string;
  options: Record<string, unknown>;
  price: number;
  currency: string;
  prices: Record<string, unknown>;
  available: number;
  active: boolean;
  stock?: GqlStockLevel | null;
}

export type QueryField =
  "products" | "product" | "facets" | "me" | "cart" | "orders" | "order" | "recommendations";
export type MutationField =
  | "signup"
  | "login"
  | "refreshToken"
  | "addToCart"
  | "updateCartItem"
  | "applyPromotion"
  | "placeOrder"
  | "cancelOrder";
