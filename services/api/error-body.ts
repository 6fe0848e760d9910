/**
 * Every error the gateway answers with (Moleculer, moleculer-web, body-parser) as the contract's
 * `{name, message, code, type, data}`, with the HTTP status = code. Internal errors say nothing
 * about themselves.
 */

export interface ErrorBody {
  name: string;
  message: string;
  code: number;
  type: string;
  data: unknown;
}

export function toErrorBody(err: any): ErrorBody {
  let code = Number(err?.code);
  if (!(code >= 400 && code < 600)) code = Number(err?.status) || 500;
  if (!(code >= 400 && code < 600)) code = 500;
  let { name, message, type, data } = err ?? {};
  if (err?.type === "entity.too.large") {
    [code, name, type, message] = [
      413,
      "PayloadTooLarge",
      "PAYLOAD_TOO_LARGE",
      "Request body is larger than 1 MB",
    ];
  } else if (err?.type === "entity.parse.failed") {
    [code, name, type, message] = [400, "BadRequestError", "INVALID_JSON", "Request body is not valid JSON"];
  } else if (err?.name === "ValidationError") {
    code = 422;
    type = "VALIDATION_ERROR";
    data = invalidFields(data);
  } else if (err?.name === "ServiceNotFoundError" || err?.name === "ServiceNotAvailableError") {
    code = 503;
  } else if (err?.name === "NotFoundError" && type === "NOT_FOUND") {
    message = "Not found";
  }
  if (code >= 500 && code !== 503)
    [name, message, type, data] = ["InternalServerError", "Internal server error", "INTERNAL", undefined];
  return {
    name: name ?? "Error",
    message: message ?? "Error",
    code,
    type: type ?? "ERROR",
    data: data ?? {},
  };
}

/**
 * fastest-validator's errors as `[{field, type, message}]`: one entry per offending field
 * (a forbidden key of a strict object becomes its own entry), without `actual`, which would
 * echo what the client sent (a password, say) back into responses and logs.
 */
export function invalidFields(data: unknown): unknown {
  if (!Array.isArray(data)) return data;
  return data.flatMap((e: any) => {
    if (e?.type !== "objectStrict") return [{ field: e?.field, type: e?.type, message: e?.message }];
    const parent = e.field ? `${e.field}.` : "";
    return String(e.actual ?? "")
      .split(", ")
      .map((key) => ({
        field: parent + key,
        type: "objectStrict",
        message: `'${parent + key}' is not allowed`,
      }));
  });
}
