/**
 * /graphql on the moleculer-web gateway: the route's hooks and the `api.graphql` action's body.
 *
 * The route runs the REST routes' hooks (services/api.service.ts): the per-client rate limit
 * (`throttle`, one hit per HTTP request), the bearer check (`authenticate`: a token that does not
 * verify leaves the caller anonymous, and a field that needs a user then answers UNAUTHENTICATED
 * with type INVALID_TOKEN) and the request id. Refusals before GraphQL runs (429, 413, bad JSON)
 * leave in GraphQL's error shape with the REST status.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { Errors, type Context } from "moleculer";
import type { Meta } from "../../../contracts";
import { config } from "../../../lib/config";
import { clientAddress } from "../../../lib/rate-limit";
import { toErrorBody } from "../error-body";
import { createLoaders, type GatewayHooks, type GraphQLContext } from "./context";
import { toGraphQLError } from "./errors";
import { GRAPHIQL_CSP, graphiqlPage } from "./graphiql";
import { catalogueKey } from "./answer-cache";
import { GRAPHQL_PATH } from "./server";

/** What the route's hook learns of the HTTP request, for the action (removed before any call). */
interface HttpFacts {
  method: string;
  accept?: string;
  client: string;
  authorization: boolean;
}
type Ctx = Context<Record<string, unknown>, Meta & { $graphql?: HttpFacts }>;
type Req = IncomingMessage & { body?: unknown };

export const GRAPHQL_ALIASES: Record<string, string> = {
  "POST /": "api.graphql",
  "GET /": "api.graphql",
  "GET /assets/:file": "api.graphiqlAsset",
};

/** moleculer-web `onBeforeCall` of /graphql (`this`: the gateway service). */
export function beforeGraphQL(this: any, ctx: Ctx, req: Req, action: string) {
  if (Array.isArray(req.body))
    throw new Errors.MoleculerClientError(
      "Batched operations are not accepted: send one operation per request",
      400,
      "BATCHING_DISABLED",
    );
  ctx.meta.$graphql = {
    method: req.method ?? "GET",
    accept: typeof req.headers.accept === "string" ? req.headers.accept : undefined,
    client: clientAddress(req, config().trustProxy),
    authorization: Boolean(req.headers.authorization),
  };
  return this.throttle(ctx, req, action);
}

/** moleculer-web `onError` of /graphql: a refusal before GraphQL ran, in GraphQL's error shape. */
export function graphQLRouteError(
  this: any,
  req: IncomingMessage & { $ctx?: Context<unknown, Meta> },
  res: ServerResponse,
  err: any,
) {
  const status = err?.extensions?.status ?? toErrorBody(err).code;
  const error = toGraphQLError(err);
  if (status >= 500) this.logger.error("GraphQL request failed", { requestId: req.$ctx?.requestID, err });
  const headers = req.$ctx?.meta?.$responseHeaders;
  if (headers) for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  res.setHeader("Content-Type", "application/json; charset=utf-8");
  res.writeHead(status);
  res.end(JSON.stringify({ errors: [error.toJSON()] }));
}

const wantsPage = (facts: HttpFacts, params: Record<string, unknown>) =>
  facts.method === "GET" && params.query === undefined && /text\/html/.test(facts.accept ?? "");

/** The `api.graphql` action: GraphiQL for a browser (not in production), else Yoga's answer. */
export async function runGraphQL(service: any, ctx: Ctx): Promise<string> {
  const facts = ctx.meta.$graphql!;
  delete ctx.meta.$graphql;
  const meta = ctx.meta as any;
  const production = config().nodeEnv === "production";
  if (!production && wantsPage(facts, ctx.params)) {
    meta.$responseType = "text/html; charset=utf-8";
    ctx.meta.$responseHeaders = { ...ctx.meta.$responseHeaders, "Content-Security-Policy": GRAPHIQL_CSP };
    return graphiqlPage();
  }
  // Built only on a cache miss: a hit costs the key and the lookup.
  const run = async (): Promise<Answer> => {
    const url = new URL(`http://gateway${GRAPHQL_PATH}`);
    const init: RequestInit & { headers: Record<string, string> } = {
      method: facts.method,
      headers: { accept: facts.accept ?? "application/json" },
    };
    if (facts.method === "GET") {
      for (const [k, v] of Object.entries(ctx.params))
        if (v !== undefined) url.searchParams.set(k, typeof v === "string" ? v : JSON.stringify(v));
    } else {
      init.headers["content-type"] = "application/json";
      init.body = JSON.stringify(ctx.params);
    }
    const base = {
      ctx: ctx as unknown as Context<unknown, Meta>,
      gateway: service as GatewayHooks,
      client: facts.client,
      tokenRejected: facts.authorization && !ctx.meta.user,
    };
    const context: GraphQLContext = { ...base, loaders: createLoaders(base) };
    const res: Response = await service.graphqlServer.fetch(url, init, context);
    const allow = res.headers.get("allow");
    return {
      status: res.status,
      type: res.headers.get("content-type") ?? "application/json; charset=utf-8",
      body: await res.text(),
      ...(allow ? { allow } : {}),
    };
  };
  const key = catalogueKey(ctx.params, facts.accept);
  const answer = key ? await cachedAnswer(service, key, run) : await run();
  ctx.meta.$statusCode = answer.status;
  meta.$responseType = answer.type;
  if (answer.allow) ctx.meta.$responseHeaders = { ...ctx.meta.$responseHeaders, Allow: answer.allow };
  return answer.body;
}

interface Answer {
  status: number;
  type: string;
  body: string;
  allow?: string;
}

/** Stored only when it is a whole answer without errors (a refusal is computed again). */
async function cachedAnswer(service: GatewayHooks, key: string, run: () => Promise<Answer>): Promise<Answer> {
  let fresh: Answer | undefined;
  try {
    return await service.cached(key, async () => {
      fresh = await run();
      if (fresh.status !== 200 || JSON.parse(fresh.body).errors) throw NOT_STORED;
      return fresh;
    });
  } catch (err) {
    if (err === NOT_STORED && fresh) return fresh;
    throw err;
  }
}
const NOT_STORED = new Error("not stored");
