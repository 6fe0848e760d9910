/**
 * What every resolver gets for one GraphQL request: the gateway action's context (so calls carry
 * the caller's meta, as a REST alias's do), who is calling, and this request's DataLoaders.
 *
 * `callAction` is the one way a resolver reaches a service: it asks of the caller what the REST
 * gateway's `authorize` asks (the action's own `auth: "required" | "admin"`), then makes the call;
 * every failure leaves as the GraphQL form of the REST error.
 */
import DataLoader from "dataloader";
import type { CallingOptions, Context } from "moleculer";
import type { ActionName, Actions, AuthUser, Meta, Product, StockLevel } from "../../../contracts";
import { refusal, toGraphQLError, unauthenticated } from "./errors";

/** inventory.getMany takes at most this many ids. */
const STOCK_CHUNK = 100;

export interface GatewayHooks {
  /** CachedReadsMixin.cached of the gateway: the catalogue reads REST answers from its cache. */
  cached<T>(key: string, compute: () => Promise<T>): Promise<T>;
  /** The REST per-client auth limit (signup, login) and per-account login failures. */
  throttleAuth(ctx: Context, req: object, action: string, client: string): Promise<void>;
  loginSettled(req: object, err?: { code?: number }): Promise<void>;
}

export interface GraphQLContext {
  ctx: Context<unknown, Meta>;
  gateway: GatewayHooks;
  /** The client address the REST rate limits count against. */
  client: string;
  /** An Authorization header came and did not verify (UNAUTHENTICATED says INVALID_TOKEN). */
  tokenRejected: boolean;
  loaders: Loaders;
}

export interface Loaders {
  product: DataLoader<string, Product | null>;
  stock: DataLoader<string, StockLevel | null>;
}

export function isAvailable(g: GraphQLContext, action: string): boolean {
  return g.ctx.broker.registry.actions.isAvailable(action);
}

export async function callAction<A extends ActionName>(
  g: GraphQLContext,
  action: A,
  params: Actions[A]["params"],
  opts: CallingOptions = {},
): Promise<Actions[A]["result"]> {
  const endpoint: any = g.ctx.broker.findNextActionEndpoint(action, {}, g.ctx);
  if (endpoint instanceof Error) throw toGraphQLError(endpoint);
  const need = endpoint.action?.auth;
  const user: AuthUser | undefined = g.ctx.meta.user ?? undefined;
  if (need && !user) throw unauthenticated(g.tokenRejected ? "INVALID_TOKEN" : "NO_TOKEN");
  if (need === "admin" && user?.role !== "admin")
    throw refusal("Forbidden", "FORBIDDEN", "FORBIDDEN", { status: 403 });
  try {
    return (await g.ctx.call(action, params, opts)) as Actions[A]["result"];
  } catch (err) {
    throw toGraphQLError(err);
  }
}

const goneAsNull = (err: any) => (err?.extensions?.status === 404 ? null : Promise.reject(err));

/**
 * Per request, so nothing is shared between callers: products by id (one products.get per
 * distinct product, each cached by the products service), stock by variant id (one
 * inventory.getMany per 100 distinct variants).
 */
export function createLoaders(g: Omit<GraphQLContext, "loaders">): Loaders {
  const ctx = g as GraphQLContext;
  return {
    product: new DataLoader(async (ids) =>
      Promise.all(ids.map((id) => callAction(ctx, "products.get", { id }).catch(goneAsNull))),
    ),
    stock: new DataLoader(
      async (ids) => {
        const levels = await callAction(ctx, "inventory.getMany", { productIds: [...ids] });
        const byId = new Map(levels.map((l) => [l.productId, l]));
        return ids.map((id) => byId.get(id) ?? null);
      },
      { maxBatchSize: STOCK_CHUNK },
    ),
  };
}
