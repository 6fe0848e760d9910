/**
 * Resolvers: each root field calls the action its REST route calls (services/api/routes.ts), with
 * the same params, so validation, authorization and every business rule are the services' own.
 * Nested product, variant and stock fields go through the request's DataLoaders.
 */
import { GraphQLScalarType, Kind, valueFromASTUntyped } from "graphql";
import type {
  Cart,
  LineRequest,
  OrderLine,
  PlaceOrderParams,
  Product,
  ProductListParams,
  StockLevel,
  Variant,
} from "../../../contracts";
import { readKey } from "../routes";
import { callAction, isAvailable, type GraphQLContext } from "./context";
import { refusal, toGraphQLError } from "./errors";
import type {
  MutationAddToCartArgs,
  MutationApplyPromotionArgs,
  MutationCancelOrderArgs,
  MutationField,
  MutationLoginArgs,
  MutationPlaceOrderArgs,
  MutationRefreshTokenArgs,
  MutationSignupArgs,
  MutationUpdateCartItemArgs,
  QueryFacetsArgs,
  QueryField,
  QueryOrderArgs,
  QueryOrdersArgs,
  QueryProductArgs,
  QueryProductsArgs,
  QueryRecommendationsArgs,
} from "./types.generated";

type G = GraphQLContext;
const RECOMMENDATIONS = "recommendations.forProduct";
const APPLY_PROMOTION = "carts.applyPromotion";

/** GraphQL's explicit nulls read as absent, as an omitted JSON key does over REST. */
function defined<T>(value: T): T {
  if (Array.isArray(value)) return value.map(defined) as T;
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, v]) => v !== null && v !== undefined)
      .map(([k, v]) => [k, defined(v)]),
  ) as T;
}

/** The params of GET /api/products: `options` from `[{name, value}]` (REST: `?option.<name>=`). */
export function productListParams(args: QueryProductsArgs): ProductListParams {
  const { options, ...filter } = defined(args.filter ?? {});
  const params: Record<string, unknown> = {
    ...filter,
    ...defined({ page: args.page, pageSize: args.pageSize }),
  };
  if (options?.length) params.options = Object.fromEntries(options.map((o) => [o.name, o.value]));
  return params as ProductListParams;
}

/** A signup or login under the REST auth limits, its account failures settled as REST settles them. */
async function throttledAuth<T>(
  g: G,
  action: "users.signup" | "users.login",
  email: string,
  run: () => Promise<T>,
) {
  const req: { $params: { email: string }; $loginKey?: string } = { $params: { email } };
  try {
    await g.gateway.throttleAuth(g.ctx, req, action, g.client);
  } catch (err) {
    throw toGraphQLError(err);
  }
  try {
    const result = await run();
    await g.gateway.loginSettled(req);
    return result;
  } catch (err: any) {
    await g.gateway.loginSettled(req, { code: err?.extensions?.status });
    throw err;
  }
}

const Query: Record<QueryField, (parent: unknown, args: any, g: G) => Promise<unknown>> = {
  products(_: unknown, args: QueryProductsArgs, g: G) {
    const params = productListParams(args);
    return g.gateway.cached(readKey("gql.list", params as Record<string, unknown>), () =>
      callAction(g, "products.list", params),
    );
  },
  product(_: unknown, { id }: QueryProductArgs, g: G) {
    return g.loaders.product.load(id).then((p) => p ?? callAction(g, "products.get", { id }));
  },
  facets(_: unknown, args: QueryFacetsArgs, g: G) {
    const params: Record<string, unknown> = { ...defined(args.filter ?? {}) };
    return g.gateway.cached(readKey("gql.facets", params), () =>
      callAction(g, "products.facets" as any, params as never),
    );
  },
  me(_: unknown, _args: unknown, g: G) {
    return callAction(g, "users.me", {});
  },
  cart(_: unknown, _args: unknown, g: G) {
    return callAction(g, "carts.get", {});
  },
  orders(_: unknown, args: QueryOrdersArgs, g: G) {
    return callAction(g, "orders.list", defined({ page: args.page, pageSize: args.pageSize }) as any);
  },
  order(_: unknown, { id }: QueryOrderArgs, g: G) {
    return callAction(g, "orders.get", { id });
  },
  async recommendations(_: unknown, { productId }: QueryRecommendationsArgs, g: G) {
    // Checked per call: the recommendations service may join (or leave) the cluster at any time.
    if (!isAvailable(g, RECOMMENDATIONS)) return { rows: [], strategy: "unavailable" };
    return callAction(g, RECOMMENDATIONS as any, { id: productId } as never);
  },
};

const Mutation: Record<MutationField, (parent: unknown, args: any, g: G) => Promise<unknown>> = {
  signup(_: unknown, { input }: MutationSignupArgs, g: G) {
    return throttledAuth(g, "users.signup", input.email, () =>
      callAction(g, "users.signup", defined(input) as any),
    );
  },
  login(_: unknown, { input }: MutationLoginArgs, g: G) {
    return throttledAuth(g, "users.login", input.email, () =>
      callAction(g, "users.login", defined(input) as any),
    );
  },
  refreshToken(_: unknown, { refreshToken }: MutationRefreshTokenArgs, g: G) {
    return callAction(g, "tokens.refresh", { refreshToken });
  },
  addToCart(_: unknown, { input }: MutationAddToCartArgs, g: G) {
    return callAction(g, "carts.addItem", defined(input) as LineRequest);
  },
  updateCartItem(_: unknown, { id, quantity }: MutationUpdateCartItemArgs, g: G) {
    return callAction(g, "carts.updateItem", { productId: id, quantity });
  },
  async applyPromotion(_: unknown, { code }: MutationApplyPromotionArgs, g: G) {
    if (!isAvailable(g, APPLY_PROMOTION))
      throw refusal(
        "Promotions are not available on this shop",
        "PROMOTIONS_UNAVAILABLE",
        "PROMOTIONS_UNAVAILABLE",
        {
          status: 503,
        },
      );
    return callAction(g, APPLY_PROMOTION as any, { code } as never);
  },
  placeOrder(_: unknown, { input, idempotencyKey }: MutationPlaceOrderArgs, g: G) {
    const meta = typeof idempotencyKey === "string" ? { idempotencyKey } : {};
    return callAction(g, "orders.place", defined(input) as PlaceOrderParams, { meta });
  },
  cancelOrder(_: unknown, { id }: MutationCancelOrderArgs, g: G) {
    return callAction(g, "orders.cancel", { id });
  },
};

/** A line's product and variant as the catalogue has them now. */
const lineFields = {
  product: (line: OrderLine, _: unknown, g: G) => g.loaders.product.load(line.productId),
  variant: async (line: OrderLine, _: unknown, g: G) =>
    (await g.loaders.product.load(line.productId))?.variants.find((v) => v.id === line.variantId) ?? null,
};

const sumOf = (productId: string, levels: Array<StockLevel | null | Error>): StockLevel => {
  const known = levels.filter((l): l is StockLevel => !!l && !(l instanceof Error));
  return {
    productId,
    available: known.reduce((n, l) => n + l.available, 0),
    reserved: known.reduce((n, l) => n + l.reserved, 0),
  };
};

export const JSONObject = new GraphQLScalarType({
  name: "JSONObject",
  serialize: (value) => value,
  parseValue: (value) => value,
  parseLiteral: (ast, variables) =>
    ast.kind === Kind.OBJECT ? valueFromASTUntyped(ast, variables) : undefined,
});

export const resolvers = {
  JSONObject,
  Query,
  Mutation,
  Product: {
    stock: async (p: Product, _: unknown, g: G) =>
      sumOf(p.id, await g.loaders.stock.loadMany(p.variants.map((v) => v.id))),
  },
  Variant: {
    stock: (v: Variant, _: unknown, g: G) => g.loaders.stock.load(v.id),
  },
  CartItem: lineFields,
  OrderLine: lineFields,
  Cart: {
    // Second-round cart fields read null until the carts service answers them.
    id: (c: Cart & { id?: string }) => c.id ?? null,
  },
};
