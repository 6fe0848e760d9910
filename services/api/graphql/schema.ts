/**
 * The GraphQL schema, in one place (schema-first SDL). Field names are the REST names of API.md;
 * lists are `{rows, total, page, pageSize, totalPages}`; ids are `ID!`. The resolver types in
 * types.generated.ts are generated from this text (`npm run graphql:types`); a unit test fails
 * when the two differ.
 *
 * Fields of the second contract round that a service may not answer yet (regions, promotions,
 * refunds) are nullable: they read null until the service fills them.
 */
export const typeDefs = /* GraphQL */ `
  "A JSON object: a variant's options, prices per currency, facet counts per option."
  scalar JSONObject

  type Query {
    "GET /api/products"
    products(filter: ProductFilter, page: Int, pageSize: Int): ProductPage!
    "GET /api/products/:id"
    product(id: ID!): Product
    "GET /api/products/facets"
    facets(filter: FacetFilter): Facets!
    "GET /api/user/me"
    me: User
    "GET /api/cart"
    cart: Cart
    "GET /api/orders"
    orders(page: Int, pageSize: Int): OrderPage
    "GET /api/orders/:id"
    order(id: ID!): Order
    "GET /api/products/:id/recommendations (strategy 'unavailable' while no recommendations service runs)"
    recommendations(productId: ID!): Recommendations!
  }

  type Mutation {
    "POST /api/user/signup"
    signup(input: SignupInput!): AuthPayload!
    "POST /api/user/login"
    login(input: LoginInput!): AuthPayload!
    "POST /api/refresh-token"
    refreshToken(refreshToken: String!): TokenPair!
    "POST /api/cart/items"
    addToCart(input: CartLineInput!): Cart!
    "PATCH /api/cart/items/:id (id: the line's variant id; quantity 0 removes the line)"
    updateCartItem(id: ID!, quantity: Int!): Cart!
    "POST /api/cart/promotions"
    applyPromotion(code: String!): Cart!
    "POST /api/orders (idempotencyKey: the Idempotency-Key header)"
    placeOrder(input: PlaceOrderInput!, idempotencyKey: String): Order!
    "POST /api/orders/:id/cancel"
    cancelOrder(id: ID!): Order!
  }

  input ProductFilter {
    q: String
    category: String
    minPrice: Int
    maxPrice: Int
    "price, -price, name, -name, createdAt, -createdAt"
    sort: String
    inStock: Boolean
    "?option.<name>=<value>: one active variant must have every pair"
    options: [OptionFilter!]
  }

  input FacetFilter {
    q: String
    category: String
    minPrice: Int
    maxPrice: Int
  }

  input OptionFilter {
    name: String!
    value: String!
  }

  input SignupInput {
    email: String!
    password: String!
    name: String!
    phone: String
    cartToken: String
  }

  input LoginInput {
    email: String!
    password: String!
    cartToken: String
  }

  input CartLineInput {
    productId: ID
    variantId: ID
    quantity: Int!
  }

  input PaymentInput {
    method: String!
    token: String!
  }

  input AddressInput {
    name: String!
    line1: String!
    line2: String
    city: String!
    postalCode: String!
    country: String!
  }

  input PlaceOrderInput {
    items: [CartLineInput!]
    payment: PaymentInput!
    shippingAddress: AddressInput
    shippingAddressId: ID
    regionId: ID
    shippingOptionId: ID
    promotionCode: String
    email: String
  }

  type NotificationPrefs {
    email: Boolean!
    sms: Boolean!
  }

  type User {
    id: ID!
    email: String!
    name: String!
    phone: String
    role: String!
    notifications: NotificationPrefs!
    createdAt: String!
  }

  type AuthPayload {
    user: User!
    accessToken: String!
    refreshToken: String!
    expiresIn: Int!
  }

  type TokenPair {
    accessToken: String!
    refreshToken: String!
    expiresIn: Int!
  }

  type ProductOption {
    name: String!
    values: [String!]!
  }

  "GET /api/inventory/:id of one variant (stock id)"
  type StockLevel {
    productId: ID!
    available: Int!
    reserved: Int!
  }

  type Variant {
    id: ID!
    sku: String!
    title: String!
    options: JSONObject!
    price: Int!
    currency: String!
    prices: JSONObject!
    available: Int!
    active: Boolean!
    "Inventory's record of this variant (batched per request)"
    stock: StockLevel
  }

  type Product {
    id: ID!
    sku: String!
    name: String!
    description: String!
    price: Int!
    currency: String!
    prices: JSONObject!
    category: String!
    images: [String!]!
    active: Boolean!
    available: Int!
    options: [ProductOption!]!
    variants: [Variant!]!
    createdAt: String!
    updatedAt: String!
    "Inventory's sums over the product's variants (batched per request)"
    stock: StockLevel
  }

  type ProductPage {
    rows: [Product!]!
    total: Int!
    page: Int!
    pageSize: Int!
    totalPages: Int!
  }

  type FacetValue {
    value: String!
    count: Int!
  }

  type PriceRange {
    min: Int
    max: Int
  }

  type Facets {
    categories: [FacetValue!]!
    "{<optionName>: [{value, count}]}"
    options: JSONObject!
    price: PriceRange!
  }

  type CartItem {
    productId: ID!
    variantId: ID!
    sku: String!
    name: String!
    variantTitle: String!
    unitPrice: Int!
    quantity: Int!
    lineTotal: Int!
    unavailable: Boolean!
    "The line's product now (batched per request); null once it is gone"
    product: Product
    "The line's variant now, with its stock; null once it is gone"
    variant: Variant
  }

  type ShippingChoice {
    id: ID!
    name: String!
    amount: Int!
  }

  type Cart {
    id: ID
    items: [CartItem!]!
    subtotal: Int!
    currency: String!
    updatedAt: String!
    regionId: ID
    promotionCode: String
    discountTotal: Int
    shippingOption: ShippingChoice
    shippingTotal: Int
    taxRate: Int
    taxInclusive: Boolean
    taxTotal: Int
    total: Int
  }

  type OrderLine {
    productId: ID!
    variantId: ID!
    sku: String!
    name: String!
    variantTitle: String!
    unitPrice: Int!
    quantity: Int!
    lineTotal: Int!
    "The line's product now (batched per request); null once it is gone"
    product: Product
    "The line's variant now, with its stock; null once it is gone"
    variant: Variant
  }

  type OrderPayment {
    id: ID
    status: String!
    clientSecret: String
  }

  type Address {
    name: String
    line1: String
    line2: String
    city: String
    postalCode: String
    country: String!
  }

  type StatusChange {
    status: String!
    at: String!
  }

  type Order {
    id: ID!
    userId: ID
    email: String
    orderToken: String
    items: [OrderLine!]!
    subtotal: Int!
    total: Int!
    currency: String!
    status: String!
    payment: OrderPayment!
    shippingAddress: Address!
    history: [StatusChange!]!
    createdAt: String!
    updatedAt: String!
    regionId: ID
    promotionCode: String
    discountTotal: Int
    shippingOption: ShippingChoice
    shippingTotal: Int
    taxRate: Int
    taxInclusive: Boolean
    taxTotal: Int
    refundedTotal: Int
  }

  type OrderPage {
    rows: [Order!]!
    total: Int!
    page: Int!
    pageSize: Int!
    totalPages: Int!
  }

  type Recommendations {
    rows: [Product!]!
    strategy: String!
  }
`;
