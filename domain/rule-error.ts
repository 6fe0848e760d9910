/**
 * A checkout rule refused a request. Domain code has no broker, so services turn this into a
 * Moleculer client error with the same status, type and data.
 */
export class RuleError extends Error {
  override name = "RuleError";
  constructor(
    readonly status: 404 | 409 | 422,
    readonly type: string,
    message: string,
    readonly data: unknown = {},
  ) {
    super(message);
  }
}

/** A 422 whose data lists the offending field, like the validator's. */
export function invalidField(field: string, type: string, message: string): RuleError {
  return new RuleError(422, type, message, [{ field, type, message }]);
}
