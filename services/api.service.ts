/**
 * The HTTP gateway (moleculer-web). Only the aliases of services/api/routes.ts are reachable from
 * HTTP; every error leaves as `{name, message, code, type, data}` (services/api/error-body.ts)
 * with the HTTP status = code; /metrics renders every node's metrics (services/api/metrics.ts).
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { Errors, type Context, type ServiceSchema } from "moleculer";
import ApiGateway from "moleculer-web";
import { config } from "../lib/config";
import { CacheClean, HEALTH_ACTION, type Meta } from "../contracts";
import { CachedReadsMixin } from "../mixins/cached-reads.mixin";
import { GatewayAuthMixin } from "../mixins/auth.mixin";
import { AdminStatsMixin } from "../mixins/admin-stats.mixin";
import { docsAsset, docsPage, openApiDocument } from "../lib/openapi";
import { toErrorBody } from "./api/error-body";
import { AdminApp } from "./api/admin-static";
import { guardRequest, isAdminPath } from "./api/http-guard";
import { PROMETHEUS_TYPE, bearerMatches, renderPrometheus, type NodeMetrics } from "./api/metrics";
import {
  API_ALIASES,
  DOCS_ALIASES,
  GATEWAY_READS,
  OPTIONAL_SERVICES,
  readKey,
  routedServices,
} from "./api/routes";
import { JsonBytes } from "../lib/json-bytes";
import { clientAddress } from "../lib/rate-limit";
import { optionFilters } from "../domain/catalog";
import { GRAPHQL_ALIASES, beforeGraphQL, graphQLRouteError, runGraphQL } from "./api/graphql/http";
import { createGraphQLServer } from "./api/graphql/server";
import { graphiqlAsset } from "./api/graphql/graphiql";

type Req = IncomingMessage & {
  $ctx?: Context<unknown, Meta>;
  $startTime?: [number, number];
  rawBody?: Buffer;
  /** Set by the auth mixin while a login attempt counts against its account. */
  $loginKey?: string;
};

const REQUEST_ID = /^[\w.:-]{1,128}$/;

const ApiService: ServiceSchema = {
  name: "api",
  mixins: [
    ApiGateway,
    GatewayAuthMixin,
    CachedReadsMixin({ event: CacheClean.products, pattern: "products.**" }),
    AdminStatsMixin,
  ],
  settings: <any>{
    ip: "0.0.0.0",
    rootCallOptions(options: Record<string, any>, req: IncomingMessage) {
      const given = req.headers["x-request-id"];
      options.requestID = typeof given === "string" && REQUEST_ID.test(given) ? given : randomUUID();
      options.meta = { requestId: options.requestID };
    },
    routes: [
      {
        path: "/health",
        mappingPolicy: "restrict",
        bodyParsers: false,
        logging: false,
        aliases: { "GET live": "api.live", "GET ready": "api.ready" },
      },
      {
        path: "/metrics",
        mappingPolicy: "restrict",
        bodyParsers: false,
        logging: false,
        aliases: { "GET /": "api.metrics" },
        onBeforeCall(this: any, ctx: Context<unknown, Meta>, _route: unknown, req: Req) {
          const token: string | undefined = this.metricsToken;
          if (token === undefined || bearerMatches(token, req.headers.authorization)) return;
          const type = req.headers.authorization ? "INVALID_TOKEN" : "NO_TOKEN";
          ctx.meta.$responseHeaders = { ...ctx.meta.$responseHeaders, "WWW-Authenticate": "Bearer" };
          throw new ApiGateway.Errors.UnAuthorizedError(type, {});
        },
      },
      {
        path: "/api",
        mappingPolicy: "restrict",
        bodyParsers: {
          json: {
            limit: "1mb",
            strict: true,
            // The webhook's signature covers the exact bytes received.
            verify: (req: Req, _res: unknown, buf: Buffer) => void (req.rawBody = buf),
          },
        },
        aliases: { ...API_ALIASES, ...DOCS_ALIASES },
        authentication: true,
        authorization: true,
        onBeforeCall(
          this: any,
          ctx: Context<unknown, Meta>,
          _route: unknown,
          req: Req,
          _res: unknown,
          alias: any,
        ) {
          // moleculer-web merges the body into the params: a JSON array would arrive as `{}`.
          if (Array.isArray((req as any).body))
            throw new Errors.ValidationError("The body must be a JSON object", "VALIDATION_ERROR", [
              { field: "body", type: "object", message: "The body must be a JSON object." },
            ]);
          if (alias.action === "orders.place" && typeof req.headers["idempotency-key"] === "string")
            ctx.meta.idempotencyKey = req.headers["idempotency-key"];
          // The order risk counts orders and declines per client address.
          if (alias.action === "orders.place")
            ctx.meta.clientAddress = clientAddress(req, config().trustProxy);
          if (alias.action === "payments.webhook" || alias.action === "payments.stripeWebhook") {
            const signature =
              req.headers[alias.action === "payments.webhook" ? "payment-signature" : "stripe-signature"];
            ctx.meta.webhook = {
              rawBody: req.rawBody?.toString("base64") ?? "",
              ...(typeof signature === "string" ? { signature } : {}),
            };
          }
          return this.throttle(ctx, req, alias.action);
        },
        onAfterCall(this: any, _ctx: unknown, _route: unknown, req: Req, _res: unknown, data: unknown) {
          return req.$loginKey ? this.loginSettled(req).then(() => data) : data;
        },
      },
      {
        // GraphQL over the same hooks as /api: rate limit, bearer check (services/api/graphql/).
        path: "/graphql",
        mappingPolicy: "restrict",
        bodyParsers: { json: { limit: "1mb", strict: false } },
        aliases: GRAPHQL_ALIASES,
        authentication: true,
        onBeforeCall(this: any, ctx: any, _route: unknown, req: Req, _res: unknown, alias: any) {
          return beforeGraphQL.call(this, ctx, req, alias.action);
        },
        onError: graphQLRouteError,
      },
    ],
    logRequest: "debug",
    // Params carry passwords and refresh tokens: never logged, at any level.
    logRequestParams: null,
    logResponse: null,
    onError(this: any, req: Req, res: ServerResponse, err: any) {
      const body = toErrorBody(err);
      void this.loginSettled(req, body);
      if (body.code >= 500)
        this.logger.error("Request failed", { requestId: req.$ctx?.requestID, url: req.url, err });
      res.setHeader("Content-Type", "application/json; charset=utf-8");
      const headers = req.$ctx?.meta?.$responseHeaders;
      if (headers) for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
      res.writeHead(body.code);
      res.end(JSON.stringify(body));
      this.logResponse(req, res);
    },
  },
  actions: {
    // Never retried as a whole: moleculer-web has already rewritten req.url, so a second run
    // matches no route and answers 404. Downstream calls keep their own retries.
    rest: { retryPolicy: { enabled: false } },
    live: {
      visibility: "published",
      handler() {
        return { status: "ok" };
      },
    },
    /** Prometheus text: the metrics of every available node, scraped once here. */
    metrics: {
      visibility: "published",
      handler(this: any, ctx: Context<unknown, Meta>) {
        (ctx.meta as any).$responseType = PROMETHEUS_TYPE;
        return this.scrape(ctx);
      },
    },
    products: {
      visibility: "published",
      handler(this: any, ctx: Context<Record<string, unknown>>) {
        // `?option.Size=M` arrives as a key with a dot; products.list takes it as `options`.
        const params = optionFilters(ctx.params);
        return this.cachedJson(ctx, readKey("list", params), "products.list", params);
      },
    },
    facets: {
      visibility: "published",
      handler(this: any, ctx: Context<Record<string, unknown>>) {
        return this.cachedJson(ctx, readKey("facets", ctx.params), "products.facets");
      },
    },
    product: {
      visibility: "published",
      handler(this: any, ctx: Context<Record<string, unknown>>) {
        return this.cachedJson(ctx, readKey("get", ctx.params), "products.get");
      },
    },
    openapi: {
      visibility: "published",
      handler(this: any) {
        return (this.openApiDoc ??= openApiDocument(API_ALIASES, GATEWAY_READS));
      },
    },
    docs: {
      visibility: "published",
      handler(ctx: Context<unknown, Meta>) {
        (ctx.meta as any).$responseType = "text/html; charset=utf-8";
        return docsPage();
      },
    },
    docsAsset: {
      visibility: "published",
      params: { file: { type: "string", max: 100 } },
      handler(ctx: Context<{ file: string }, Meta>) {
        const asset = docsAsset(ctx.params.file);
        if (!asset) throw new ApiGateway.Errors.NotFoundError("NOT_FOUND", { file: ctx.params.file });
        (ctx.meta as any).$responseType = asset.type;
        ctx.meta.$responseHeaders = { ...ctx.meta.$responseHeaders, "Cache-Control": "public, max-age=3600" };
        return asset.body;
      },
    },
    graphql: {
      visibility: "published",
      handler(this: any, ctx: Context<Record<string, unknown>, Meta>) {
        return runGraphQL(this, ctx);
      },
    },
    graphiqlAsset: {
      visibility: "published",
      params: { file: { type: "string", max: 100 } },
      handler(this: any, ctx: Context<{ file: string }, Meta>) {
        const asset = this.settings.graphiql ? graphiqlAsset(ctx.params.file) : null;
        if (!asset) throw new ApiGateway.Errors.NotFoundError("NOT_FOUND", { file: ctx.params.file });
        (ctx.meta as any).$responseType = asset.type;
        ctx.meta.$responseHeaders = { ...ctx.meta.$responseHeaders, "Cache-Control": "public, max-age=3600" };
        return asset.body;
      },
    },
    ready: {
      visibility: "published",
      async handler(this: any, ctx: Context<unknown, Meta>) {
        const { ok, body } = await this.readiness(ctx);
        ctx.meta.$statusCode = ok ? 200 : 503;
        return body;
      },
    },
  },
  methods: {
    /**
     * Every request: security and CORS headers first (errors and 404s carry them too), then the
     * admin app's files, then moleculer-web's routing.
     */
    httpHandler(this: any, req: Req, res: ServerResponse, next?: unknown) {
      if (guardRequest(this.corsOrigins, req, res)) return;
      if (isAdminPath(req.url)) return this.adminApp.serve(req, res);
      return (ApiGateway as any).methods.httpHandler.call(this, req, res, next);
    },

    /** `$node.metrics` of every available node (a node that does not answer is named in a comment). */
    async scrape(this: any, ctx: Context): Promise<string> {
      const nodes: any[] = this.broker.registry.getNodeList({ onlyAvailable: true, withServices: false });
      const answers: NodeMetrics[] = await Promise.all(
        nodes.map((n) =>
          ctx
            .call(
              "$node.metrics",
              { excludes: ["os.datetime.**"] },
              { nodeID: n.id, timeout: 2000, retries: 0 },
            )
            .then((metrics: any) => ({ nodeID: n.id, metrics }))
            .catch((err: any) => ({ nodeID: n.id, metrics: [], error: String(err?.message ?? err) })),
        ),
      );
      return renderPrometheus(this.broker.namespace, answers);
    },

    /** The action's answer, kept serialized: a hit is sent as it is, with no JSON.stringify. */
    async cachedJson(
      this: any,
      ctx: Context<Record<string, unknown>, Meta>,
      key: string,
      action: string,
      params: Record<string, unknown> = ctx.params,
    ) {
      const json: string = await this.cached(key, async () => JSON.stringify(await ctx.call(action, params)));
      (ctx.meta as any).$responseType = "application/json; charset=utf-8";
      return this.jsonBytes.of(key, json);
    },

    /** Ready = the transporter is connected, every routed service is discovered and its store answers. */
    async readiness(this: any, ctx: Context) {
      const checks: Record<string, any> = {};
      const failing: string[] = [];

      const transit = this.broker.transit;
      checks.transporter = transit ? (transit.connected ? "up" : "down") : "embedded";
      if (checks.transporter === "down") failing.push("transporter");

      // An optional service's absence degrades the gateway (its routes answer 503), no more.
      const optionalDown = OPTIONAL_SERVICES.filter((s) => !this.broker.registry.hasService(s));
      const required = routedServices().filter((s) => !OPTIONAL_SERVICES.includes(s));
      const missing = required.filter((s) => !this.broker.registry.hasService(s));
      checks.services = missing.length ? { status: "down", missing } : "up";
      if (missing.length) failing.push("services");

      const withHealth = required.filter(
        (s) => !missing.includes(s) && this.broker.registry.actions.isAvailable(`${s}.${HEALTH_ACTION}`),
      );
      const results = await Promise.all(
        withHealth.map((s) =>
          ctx
            .call(`${s}.${HEALTH_ACTION}`, {}, { timeout: 2000, retries: 0 })
            .then((r: any) => (r?.database ? null : s))
            .catch(() => s),
        ),
      );
      const dbDown = results.filter((s): s is string => s !== null);
      checks.database = dbDown.length ? { status: "down", services: dbDown } : "up";
      if (dbDown.length) failing.push("database");

      // Outages of Kafka, SMTP or SMS degrade: orders keep being taken and their events wait.
      const degraded: string[] = [...optionalDown];
      for (const s of optionalDown) checks[s] = "down";
      if (this.broker.registry.actions.isAvailable("kafka-bridge.status")) {
        const bridge: any = await ctx
          .call("kafka-bridge.status", {}, { timeout: 2000, retries: 0 })
          .catch(() => null);
        checks.kafka = !bridge ? "down" : !bridge.enabled ? "disabled" : bridge.connected ? "up" : "down";
        if (checks.kafka === "down") degraded.push("kafka");
      }

      const body = {
        status: failing.length ? "unavailable" : degraded.length ? "degraded" : "ok",
        checks,
        ...(failing.length ? { failing } : {}),
      };
      return { ok: failing.length === 0, body };
    },

    logResponse(this: any, req: Req, res: ServerResponse) {
      const [s, ns] = req.$startTime ? process.hrtime(req.$startTime) : [0, 0];
      const line = `${req.method} ${req.url} ${res.statusCode} ${(s * 1e3 + ns / 1e6).toFixed(1)}ms requestId=${req.$ctx?.requestID ?? "-"}`;
      // Successful requests are logged at debug: a log line per request costs throughput.
      if (res.statusCode >= 400) this.logger.info(line);
      else this.logger.debug(line);
    },
  },
  created(this: any) {
    this.jsonBytes = new JsonBytes();
    const cfg = config();
    // moleculer-web reads the port when it starts listening, after every created().
    this.settings.port = cfg.port;
    this.metricsToken = cfg.metricsToken;
    this.settings.graphiql = cfg.nodeEnv !== "production";
    this.graphqlServer = createGraphQLServer({
      production: cfg.nodeEnv === "production",
      logError: (err) => this.logger.error("GraphQL resolver failed", err),
    });
    this.corsOrigins = cfg.corsOrigins;
    this.adminApp = new AdminApp().load();
    if (!this.adminApp.built) this.logger.info("No admin app build (dist/admin): /admin answers 503");
  },
};

export default ApiService;
