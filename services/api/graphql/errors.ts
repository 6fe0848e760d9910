/**
 * REST errors as GraphQL errors (API.md "GraphQL"): `extensions.code` in GraphQL's convention for
 * 401/403/404/422, else the REST `type`; `extensions.type` is always the REST `type`. The REST body
 * is made first (services/api/error-body.ts), so both APIs say the same about the same failure,
 * and an internal error says nothing about itself here either.
 */
import { GraphQLError } from "graphql";
import { toErrorBody } from "../error-body";

const CODES: Record<number, string> = {
  401: "UNAUTHENTICATED",
  403: "FORBIDDEN",
  404: "NOT_FOUND",
  422: "BAD_USER_INPUT",
};

export interface FieldProblem {
  field: string;
  type: string;
  message: string;
}

export function toGraphQLError(err: unknown): GraphQLError {
  if (err instanceof GraphQLError) return err;
  const body = toErrorBody(err);
  const extensions: Record<string, unknown> = {
    code: CODES[body.code] ?? body.type,
    type: body.type,
    status: body.code,
  };
  if (body.code === 422) extensions.fields = Array.isArray(body.data) ? body.data : [];
  else if (body.code < 500 && body.data && Object.keys(body.data as object).length)
    extensions.data = body.data;
  const retryAfter = (err as any)?.data?.retryAfter;
  if (body.code === 429 && retryAfter) extensions.retryAfter = retryAfter;
  return new GraphQLError(body.message, { extensions });
}

/** A GraphQL-level refusal shaped like a REST one (e.g. the limits, rate limiting). */
export function refusal(message: string, code: string, type = code, extra: Record<string, unknown> = {}) {
  return new GraphQLError(message, { extensions: { code, type, ...extra } });
}

export const unauthenticated = (type: "NO_TOKEN" | "INVALID_TOKEN") =>
  refusal(
    type === "NO_TOKEN" ? "A bearer token is required" : "The bearer token is invalid",
    "UNAUTHENTICATED",
    type,
    { status: 401 },
  );

const VARIABLE_ERROR = /^Variable "\$(\w+)" got invalid value .*?(?: at "([^"]+)")?;/;

/**
 * GraphQL's own refusals in the REST terms: a variable of the wrong type is BAD_USER_INPUT naming
 * the field as REST would (`$input` at `input.items[0].quantity` → `items[0].quantity`); a query
 * that does not parse or validate keeps its GraphQL code, which is then its type too.
 */
export function withRestType(error: GraphQLError): GraphQLError {
  if (error.extensions?.type) return error;
  const variable = VARIABLE_ERROR.exec(error.message);
  const code = error.extensions?.code;
  if (!variable && typeof code !== "string") return error;
  const extensions = variable
    ? {
        code: "BAD_USER_INPUT",
        type: "VALIDATION_ERROR",
        status: 422,
        fields: [
          {
            field: variable[2]?.startsWith(`${variable[1]}.`)
              ? variable[2].slice(variable[1].length + 1)
              : variable[1],
            type: "type",
            message: error.message,
          },
        ],
      }
    : { ...error.extensions, type: code };
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    originalError: error.originalError,
    extensions,
  });
}
