/**
 * Turns a RuleError thrown by domain/ code into the Moleculer error the gateway answers with:
 * 422 as a ValidationError listing the fields, 404 and 409 as client errors. Domain code stays
 * free of the broker; services with checkout rules (carts, orders) mix this in.
 */
import { Errors, type ServiceSchema } from "moleculer";
import { RuleError } from "../domain/rule-error";

export function fromRuleError(err: unknown): unknown {
  if (!(err instanceof RuleError)) return err;
  if (err.status === 422) return new Errors.ValidationError(err.message, err.type, err.data as object);
  return new Errors.MoleculerClientError(err.message, err.status, err.type, err.data as object);
}

export const RuleErrorsMixin: ServiceSchema = {
  name: "",
  hooks: {
    error: {
      "*"(_ctx: unknown, err: unknown) {
        throw fromRuleError(err);
      },
    },
  },
};
