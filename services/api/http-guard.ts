/**
 * Headers every gateway response carries (API.md "Admin"): nosniff and a referrer policy on all,
 * a strict Content-Security-Policy on the two HTML apps (/admin, /api/docs), and CORS for the
 * origins of CORS_ORIGINS only. Pure: the gateway applies the answers to each request.
 */
import type { IncomingMessage, ServerResponse } from "node:http";

export const ADMIN_PATH = "/admin";
export const DOCS_PATH = "/api/docs";

/**
 * The admin app: its own scripts and styles only. MUI (emotion) writes <style> elements at run
 * time: they carry the page's nonce; React's `style` attributes need style-src-attr.
 */
export function adminCsp(nonce: string): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    `style-src 'self' 'nonce-${nonce}'`,
    "style-src-attr 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "manifest-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
}

/** Swagger UI: served from the gateway; it sets inline styles and data: images as it renders. */
export const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

const pathOf = (url: string | undefined) => (url ?? "/").split("?")[0];

export const isAdminPath = (url: string | undefined) => {
  const p = pathOf(url);
  return p === ADMIN_PATH || p.startsWith(`${ADMIN_PATH}/`);
};

/** The headers of every response, chosen by path (the admin app adds its own CSP with a nonce). */
export function securityHeaders(url: string | undefined): Record<string, string> {
  const headers: Record<string, string> = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
  };
  const p = pathOf(url);
  if (p === DOCS_PATH || p.startsWith(`${DOCS_PATH}/`)) {
    headers["Content-Security-Policy"] = DOCS_CSP;
    headers["X-Frame-Options"] = "DENY";
  }
  if (isAdminPath(url)) headers["X-Frame-Options"] = "DENY";
  return headers;
}

// ---- CORS ----

export const CORS_METHODS = "GET, POST, PUT, PATCH, DELETE";
export const CORS_ALLOWED_HEADERS =
  "Authorization, Content-Type, Idempotency-Key, X-Cart-Token, X-Order-Token, X-Request-ID";
export const CORS_EXPOSED_HEADERS = "Retry-After, X-Request-ID, Location";

export type CorsAnswer =
  /** Not a cross-origin request we serve: no CORS headers (a browser then refuses to share it). */
  | { kind: "none"; headers: Record<string, string> }
  /** A request from an allowed origin: these headers, then the normal handling. */
  | { kind: "request"; headers: Record<string, string> }
  /** A preflight: answered here with this status and these headers. */
  | { kind: "preflight"; status: 204 | 403; headers: Record<string, string> };

/**
 * `allowed`: the origins of CORS_ORIGINS, or ["*"] for any. Credentials are allowed only with a
 * listed origin, echoed back (never with `*`); an empty list allows nothing.
 */
export function corsAnswer(
  allowed: readonly string[],
  method: string | undefined,
  origin: string | undefined,
  requestMethod: string | undefined,
): CorsAnswer {
  const vary: Record<string, string> = allowed.length ? { Vary: "Origin" } : {};
  const preflight = method === "OPTIONS" && origin !== undefined && requestMethod !== undefined;
  const any = allowed.includes("*");
  const ok = origin !== undefined && (any || allowed.includes(origin));
  if (!ok)
    return preflight ? { kind: "preflight", status: 403, headers: vary } : { kind: "none", headers: vary };
  const headers: Record<string, string> = {
    ...vary,
    "Access-Control-Allow-Origin": any ? "*" : origin,
    ...(any ? {} : { "Access-Control-Allow-Credentials": "true" }),
  };
  if (!preflight)
    return {
      kind: "request",
      headers: { ...headers, "Access-Control-Expose-Headers": CORS_EXPOSED_HEADERS },
    };
  return {
    kind: "preflight",
    status: 204,
    headers: {
      ...headers,
      "Access-Control-Allow-Methods": CORS_METHODS,
      "Access-Control-Allow-Headers": CORS_ALLOWED_HEADERS,
      "Access-Control-Max-Age": "600",
    },
  };
}

/**
 * Sets the security and CORS headers on `res`; true when the request was a preflight and has
 * been answered.
 */
export function guardRequest(
  corsOrigins: readonly string[],
  req: IncomingMessage,
  res: ServerResponse,
): boolean {
  for (const [k, v] of Object.entries(securityHeaders(req.url))) res.setHeader(k, v);
  const origin = typeof req.headers.origin === "string" ? req.headers.origin : undefined;
  const asked = req.headers["access-control-request-method"];
  const cors = corsAnswer(corsOrigins, req.method, origin, typeof asked === "string" ? asked : undefined);
  for (const [k, v] of Object.entries(cors.headers)) res.setHeader(k, v);
  if (cors.kind !== "preflight") return false;
  if (cors.status === 204) {
    res.writeHead(204, { "Content-Length": "0" });
    res.end();
  } else {
    const body = JSON.stringify({
      name: "ForbiddenError",
      message: "Origin not allowed",
      code: 403,
      type: "CORS_ORIGIN_NOT_ALLOWED",
      data: { origin },
    });
    res.writeHead(403, { "Content-Type": "application/json; charset=utf-8" });
    res.end(body);
  }
  return true;
}
