/**
 * The OpenAPI 3.1 document of the REST API, generated, so it cannot drift from the code: paths and
 * methods from the gateway's aliases, parameters and request bodies from each action's
 * fastest-validator `params`, security from each action's `auth`. Only what an action answers is
 * hand-written (contracts/openapi-responses.ts). No broker: the action definitions are read from
 * the service modules, so a gateway that hosts none of them documents them all the same.
 *
 * Also the docs page: Swagger UI served from swagger-ui-dist by the gateway itself (no CDN).
 */
import fs from "node:fs";
import path from "node:path";
import { NOT_BLANK } from "./validator";
import { OPENAPI_SCHEMAS, ROUTE_DOCS, type JsonSchema, type RouteDoc } from "../contracts/openapi-responses";

export const API_BASE = "/api";
export const DOCS_PATH = `${API_BASE}/docs`;
export const DOCS_ASSETS_PATH = `${DOCS_PATH}/assets`;
export const OPENAPI_PATH = `${API_BASE}/openapi.json`;

/** What the generator needs of an action definition. */
export interface ActionDef {
  params?: Record<string, unknown>;
  auth?: "required" | "admin";
}

export interface BuildOptions {
  /** "METHOD /path" (relative to /api, moleculer-web `:param` syntax) -> action name. */
  aliases: Record<string, string>;
  /** The definitions of the actions the aliases name (after `resolve`). */
  actions: Record<string, ActionDef>;
  /** Gateway actions that stand in for another (a cached read): alias target -> real action. */
  resolve?: Record<string, string>;
  routes?: Record<string, RouteDoc>;
}

const BODY_METHODS = new Set(["post", "put", "patch"]);
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const errorContent = { "application/json": { schema: ref("Error") } };

// ---- fastest-validator -> JSON Schema ----

/** `"number|integer|min:1|optional"` -> `{type: "number", integer: true, min: 1, optional: true}`. */
function expandShorthand(rule: string): Record<string, unknown> {
  const [type, ...rest] = rule.split("|");
  const out: Record<string, unknown> = { type: type.trim() };
  for (const part of rest) {
    const [k, v] = part.split(":");
    if (v === undefined) out[k.trim()] = true;
    else
      out[k.trim()] = v === "true" ? true : v === "false" ? false : Number.isNaN(Number(v)) ? v : Number(v);
  }
  return out;
}

function normalizeRule(rule: unknown): Record<string, any> {
  if (typeof rule === "string") return expandShorthand(rule);
  if (Array.isArray(rule)) return { type: "multi", rules: rule };
  if (rule && typeof rule === "object") return rule as Record<string, any>;
  return { type: "any" };
}

export function isOptional(rule: unknown): boolean {
  const r = normalizeRule(rule);
  return r.optional === true || r.default !== undefined;
}

/** The keys of a params schema that are fields (not `$$strict`, `$$async`...), forbidden ones left out. */
export function paramKeys(params: Record<string, unknown> | undefined): string[] {
  return Object.keys(params ?? {}).filter(
    (k) => !k.startsWith("$$") && normalizeRule(params![k]).type !== "forbidden",
  );
}

/** One fastest-validator rule as a JSON Schema (draft 2020-12, as OpenAPI 3.1 uses). */
export function ruleToSchema(rule: unknown): JsonSchema {
  const r = normalizeRule(rule);
  let s: Record<string, any>;
  switch (r.type) {
    case "string":
      s = { type: "string" };
      if (r.length !== undefined) [s.minLength, s.maxLength] = [r.length, r.length];
      if (r.min !== undefined) s.minLength = r.min;
      if (r.max !== undefined) s.maxLength = r.max;
      if (r.empty === false && !(s.minLength > 0)) s.minLength = 1;
      if (r.pattern !== undefined)
        s.pattern = r.pattern instanceof RegExp ? r.pattern.source : String(r.pattern);
      // Trimmed before `min` is checked (lib/validator.ts): a blank string is too short.
      if (r.trim && s.minLength > 0) s.pattern ??= NOT_BLANK;
      if (Array.isArray(r.enum)) s.enum = r.enum;
      if (r.numeric) s.pattern ??= "^-?[0-9]+(\\.[0-9]+)?$";
      break;
    case "email":
      s = { type: "string", format: "email" };
      if (r.max !== undefined) s.maxLength = r.max;
      if (r.min !== undefined) s.minLength = r.min;
      break;
    case "url":
      s = { type: "string", format: "uri" };
      break;
    case "uuid":
      s = { type: "string", format: "uuid" };
      break;
    case "date":
      s = { type: "string", format: "date-time" };
      break;
    case "number":
      s = { type: r.integer ? "integer" : "number" };
      if (r.min !== undefined) s.minimum = r.min;
      if (r.max !== undefined) s.maximum = r.max;
      if (r.positive) s.exclusiveMinimum = 0;
      if (r.negative) s.exclusiveMaximum = 0;
      if (r.equal !== undefined) s.const = r.equal;
      break;
    case "boolean":
      s = { type: "boolean" };
      break;
    case "enum":
      s = { enum: [...(r.values ?? [])] };
      if (s.enum.every((v: unknown) => typeof v === "string")) s.type = "string";
      break;
    case "equal":
      s = { const: r.value };
      break;
    case "array":
      s = { type: "array" };
      if (r.items !== undefined) s.items = ruleToSchema(r.items);
      if (r.min !== undefined) s.minItems = r.min;
      if (r.max !== undefined) s.maxItems = r.max;
      if (r.length !== undefined) [s.minItems, s.maxItems] = [r.length, r.length];
      if (r.empty === false && !(s.minItems > 0)) s.minItems = 1;
      if (r.unique) s.uniqueItems = true;
      break;
    case "object": {
      const props = r.props ?? r.properties;
      s = props ? objectSchema(props) : { type: "object" };
      if (r.strict === true) s.additionalProperties = false;
      break;
    }
    case "record":
      s = { type: "object" };
      if (r.key !== undefined) s.propertyNames = ruleToSchema(r.key);
      if (r.value !== undefined) s.additionalProperties = ruleToSchema(r.value);
      break;
    case "multi":
      s = { oneOf: (r.rules ?? []).map(ruleToSchema) };
      break;
    default:
      s = {};
  }
  if (r.nullable) {
    if (typeof s.type === "string") s.type = [s.type, "null"];
    if (Array.isArray(s.enum)) s.enum = [...s.enum, null];
    if (!s.type && !s.enum) s = { oneOf: [s, { type: "null" }] };
  }
  if (r.default !== undefined && typeof r.default !== "function") s.default = r.default;
  return s;
}

/** A params schema (or an object rule's props) as an object schema; `$$strict` forbids other keys. */
export function objectSchema(params: Record<string, unknown>, omit: string[] = []): JsonSchema {
  const keys = paramKeys(params).filter((k) => !omit.includes(k));
  const required = keys.filter((k) => !isOptional(params[k]));
  return {
    type: "object",
    properties: Object.fromEntries(keys.map((k) => [k, ruleToSchema(params[k])])),
    ...(required.length ? { required } : {}),
    ...(params.$$strict === true ? { additionalProperties: false } : {}),
  };
}

// ---- the document ----

/** "GET /products/:id" -> ["get", "/api/products/{id}", ["id"]]. */
export function aliasToPath(alias: string, base = API_BASE): [string, string, string[]] {
  const [method, route] = alias.trim().split(/\s+/, 2);
  const names: string[] = [];
  const p = route.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, (_m, name: string) => {
    names.push(name);
    return `{${name}}`;
  });
  return [method.toLowerCase(), `${base}${p.startsWith("/") ? p : `/${p}`}`, names];
}

function operation(alias: string, target: string, def: ActionDef, doc: RouteDoc | undefined) {
  const [method, , pathNames] = aliasToPath(alias);
  const params = def.params ?? {};
  const keys = paramKeys(params);
  const inBody = BODY_METHODS.has(method);
  const rest = keys.filter((k) => !pathNames.includes(k));

  const parameters: JsonSchema[] = pathNames.map((name) => ({
    name,
    in: "path",
    required: true,
    schema: params[name] !== undefined ? ruleToSchema(params[name]) : { type: "string" },
  }));
  if (!inBody)
    // An object is no query value: the list's `options` arrives as `option.<name>=<value>` keys,
    // which the route's summary names.
    for (const k of rest.filter((k) => normalizeRule(params[k]).type !== "record"))
      parameters.push({
        name: k,
        in: "query",
        required: !isOptional(params[k]),
        schema: ruleToSchema(params[k]),
      });
  for (const h of doc?.headers ?? [])
    parameters.push({
      name: h.name,
      in: "header",
      required: h.required ?? false,
      description: h.description,
      schema: h.schema,
    });

  const op: Record<string, any> = {
    operationId: target,
    summary: doc?.summary ?? target,
    tags: [target.slice(0, target.lastIndexOf("."))],
  };
  if (def.auth === "admin") op.description = "Requires a bearer token of a user with the `admin` role.";
  else if (def.auth) op.description = "Requires a bearer token.";
  if (parameters.length) op.parameters = parameters;
  if (inBody && rest.length) {
    const body = objectSchema(params, pathNames);
    op.requestBody = {
      required: Array.isArray(body.required) && body.required.length > 0,
      content: { "application/json": { schema: body } },
    };
  }
  if (def.auth) op.security = [{ bearerAuth: [] }];

  const responses: Record<string, any> = {};
  const status = doc?.status ?? 200;
  responses[String(status)] = {
    description: status === 204 ? "No content" : "Success",
    ...(doc?.schema && status !== 204 ? { content: { "application/json": { schema: doc.schema } } } : {}),
  };
  const errors: Record<number, string> = {};
  if (inBody) {
    errors[400] = "Malformed JSON body";
    errors[413] = "Body larger than 1 MB";
  }
  if (def.auth) errors[401] = "Missing or invalid bearer token";
  if (def.auth === "admin") errors[403] = "The token's user is not an admin";
  if (def.params) errors[422] = "Invalid input; `data` lists the offending fields";
  errors[429] = "Too many requests";
  Object.assign(errors, doc?.errors ?? {});
  for (const [code, description] of Object.entries(errors).sort(([a], [b]) => Number(a) - Number(b))) {
    responses[code] = { description, content: errorContent };
    if (code === "429")
      responses[code].headers = {
        "Retry-After": { description: "Seconds to wait", schema: { type: "integer", minimum: 1 } },
      };
  }
  responses.default = {
    description: "Any other error (e.g. 503 while a service is unavailable)",
    content: errorContent,
  };
  op.responses = responses;
  return [method, op] as const;
}

/** The routes that are not aliases of /api: health probes, metrics and the documentation itself. */
function operationsPaths(): Record<string, any> {
  const text = (description: string, type: string) => ({
    description,
    content: { [type]: { schema: { type: "string" } } },
  });
  return {
    "/health/live": {
      get: {
        operationId: "api.live",
        summary: "Liveness: 200 while the process runs",
        tags: ["operations"],
        responses: {
          200: {
            description: "Alive",
            content: {
              "application/json": {
                schema: { type: "object", required: ["status"], properties: { status: { const: "ok" } } },
              },
            },
          },
        },
      },
    },
    "/health/ready": {
      get: {
        operationId: "api.ready",
        summary: "Readiness: the database and the transporter answer",
        tags: ["operations"],
        responses: Object.fromEntries(
          [200, 503].map((code) => [
            code,
            {
              description:
                code === 200 ? "Ready (ok, or degraded by Kafka, SMTP or SMS outages)" : "Not ready",
              content: {
                "application/json": {
                  schema: {
                    type: "object",
                    required: ["status", "checks"],
                    properties: {
                      status: { type: "string", enum: code === 200 ? ["ok", "degraded"] : ["unavailable"] },
                      checks: { type: "object" },
                      failing: { type: "array", items: { type: "string" } },
                    },
                  },
                },
              },
            },
          ]),
        ),
      },
    },
    "/metrics": {
      get: {
        operationId: "api.metrics",
        summary:
          "Prometheus metrics of every node (series labelled by nodeID); with METRICS_TOKEN set, that bearer token is required",
        tags: ["operations"],
        responses: {
          200: text("Prometheus text format 0.0.4", "text/plain"),
          401: {
            description: "METRICS_TOKEN is set and the bearer token is missing or wrong",
            content: errorContent,
          },
        },
      },
    },
    [OPENAPI_PATH]: {
      get: {
        operationId: "api.openapi",
        summary: "This document",
        tags: ["operations"],
        responses: {
          200: {
            description: "OpenAPI 3.1",
            content: { "application/json": { schema: { type: "object" } } },
          },
          429: { description: "Too many requests", content: errorContent },
        },
      },
    },
    [DOCS_PATH]: {
      get: {
        operationId: "api.docs",
        summary: "HTML API reference rendered from this document",
        tags: ["operations"],
        responses: {
          200: text("HTML page", "text/html"),
          429: { description: "Too many requests", content: errorContent },
        },
      },
    },
  };
}

export function buildOpenApi(opts: BuildOptions): Record<string, any> {
  const routes = opts.routes ?? ROUTE_DOCS;
  const paths: Record<string, Record<string, unknown>> = {};
  for (const [alias, target] of Object.entries(opts.aliases)) {
    const real = opts.resolve?.[target] ?? target;
    const def = opts.actions[real];
    if (!def) throw new Error(`OpenAPI: no definition for action ${real} (route ${alias})`);
    const [method, op] = operation(alias, real, def, routes[alias]);
    const [, p] = aliasToPath(alias);
    (paths[p] ??= {})[method] = op;
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "Moleculer shop API",
      version: "1.0.0",
      description:
        "Event-driven e-commerce backend. Errors are `{name, message, code, type, data}` with HTTP status = `code`. " +
        "Money is integer minor units plus currency; lists are `?page=1&pageSize=20` (pageSize capped at 100).",
    },
    servers: [{ url: "/" }],
    paths: { ...paths, ...operationsPaths() },
    components: {
      schemas: OPENAPI_SCHEMAS,
      securitySchemes: { bearerAuth: { type: "http", scheme: "bearer", bearerFormat: "JWT" } },
    },
  };
}

/** The action definitions of the named actions, read from the service modules (merged with their mixins). */
export function loadActionDefs(actionNames: string[]): Record<string, ActionDef> {
  const out: Record<string, ActionDef> = {};
  for (const name of actionNames) {
    const service = name.slice(0, name.lastIndexOf("."));
    const mod = require(path.join(__dirname, "..", "services", `${service}.service`));
    const def = findAction(mod.default ?? mod, name.slice(service.length + 1));
    if (def) out[name] = def;
  }
  return out;
}

function findAction(schema: any, action: string): ActionDef | undefined {
  const own = schema?.actions?.[action];
  if (own) return typeof own === "function" ? {} : own;
  for (const mixin of [...(schema?.mixins ?? [])].reverse()) {
    const found = findAction(mixin, action);
    if (found) return found;
  }
  return undefined;
}

/** The document of the gateway's routes, the action definitions read from the service modules. */
export function openApiDocument(aliases: Record<string, string>, resolve: Record<string, string> = {}) {
  const actions = loadActionDefs(Object.values(aliases).map((a) => resolve[a] ?? a));
  return buildOpenApi({ aliases, actions, resolve });
}

// ---- the docs page (Swagger UI, served by the gateway) ----

const INIT_JS = `window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: ${JSON.stringify(OPENAPI_PATH)},
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
`;

/** The only files the docs route serves: the few of swagger-ui-dist the page needs, and its init script. */
export const DOCS_ASSETS: Record<string, string> = {
  "swagger-ui.css": "text/css; charset=utf-8",
  "swagger-ui-bundle.js": "application/javascript; charset=utf-8",
  "favicon-32x32.png": "image/png",
  "init.js": "application/javascript; charset=utf-8",
};

export function docsPage(): string {
  const a = (file: string) => `${DOCS_ASSETS_PATH}/${file}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Moleculer shop API</title>
<link rel="icon" type="image/png" href="${a("favicon-32x32.png")}">
<link rel="stylesheet" href="${a("swagger-ui.css")}">
</head>
<body>
<div id="swagger-ui"></div>
<script src="${a("swagger-ui-bundle.js")}"></script>
<script src="${a("init.js")}"></script>
</body>
</html>
`;
}

const assetCache = new Map<string, Buffer>();

/** A docs asset and its content type, or null for any file not in DOCS_ASSETS. */
export function docsAsset(file: string): { body: Buffer; type: string } | null {
  if (!Object.hasOwn(DOCS_ASSETS, file)) return null;
  let body = assetCache.get(file);
  if (!body) {
    body =
      file === "init.js"
        ? Buffer.from(INIT_JS)
        : fs.readFileSync(path.join(path.dirname(require.resolve("swagger-ui-dist/package.json")), file));
    assetCache.set(file, body);
  }
  return { body, type: DOCS_ASSETS[file] };
}
