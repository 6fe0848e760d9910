/**
 * The params validator: fastest-validator, with three rules of the contract (API.md, OpenAPI)
 * that it does not follow by itself:
 * - null is a value like any other: it passes only a rule marked `nullable: true`. By default
 *   fastest-validator lets null through wherever a field is optional, as if absent, so
 *   `{"name": null}` reached handlers that stored it or failed on it.
 * - string lengths count characters (code points), as JSON Schema does, not UTF-16 units; with
 *   `trim`, `min` applies to the trimmed value and `max` to the value as sent.
 * - a number converted from a query string must be written as one (`?page=` is not page 0).
 */
import { Validators } from "moleculer";

type Rule = Record<string, any>;
type Params = Record<string, unknown>;

/** The characters JavaScript's `trim()` removes, as a class the fuzzer's regex engine reads alike. */
const JS_SPACE = "\\t\\n\\v\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff";
/** A regex matching any string that is not blank once trimmed. */
export const NOT_BLANK = `[^${JS_SPACE}]`;

/**
 * fastest-validator's string rule with its length limits (and trim) checked first, in code
 * points: `max` against the value as sent, then trim, then `min` against what is kept.
 */
function stringRule(builtin: (...args: any[]) => { sanitized?: boolean; source: string }) {
  return function (this: any, rule: { schema: Rule; messages: Rule }, path: string, context: unknown) {
    const { min, max, length, trim, ...rest } = rule.schema;
    const inner = builtin.call(this, { ...rule, schema: rest }, path, context);
    const [lo, hi] = [length ?? min, length ?? max];
    if (lo === undefined && hi === undefined && !trim) return inner;
    const error = (type: string, expected: number, actual: string) =>
      this.makeError({ type, expected, actual, messages: rule.messages });
    const source = `
      if (typeof value === "string") {
        var sent = 0;
        for (var c of value) sent++;
        ${hi !== undefined ? `if (sent > ${Number(hi)}) { ${error("stringMax", hi, "sent")} }` : ""}
        ${trim ? "value = value.trim();" : ""}
        var len = ${trim ? "0; for (var c of value) len++" : "sent"};
        ${lo !== undefined ? `if (len < ${Number(lo)}) { ${error("stringMin", lo, "len")} }` : ""}
      }
    `;
    return { sanitized: Boolean(inner.sanitized || trim), source: source + inner.source };
  };
}

/**
 * fastest-validator's number rule, where `convert` takes only a decimal numeral: `Number()`
 * alone turned `?maxPrice=` into 0, and `0x10` or `1e3` into numbers no client meant.
 */
function numberRule(builtin: (...args: any[]) => { sanitized?: boolean; source: string }) {
  return function (this: any, rule: { schema: Rule; messages: Rule }, path: string, context: unknown) {
    const inner = builtin.call(this, rule, path, context);
    if (rule.schema.convert !== true) return inner;
    const source = `
      if (typeof value === "string" && !/^-?[0-9]+(\\.[0-9]+)?$/.test(value)) {
        ${this.makeError({ type: "number", actual: "value", messages: rule.messages })}
        return value;
      }
    `;
    return { ...inner, source: source + inner.source };
  };
}

export class ParamsValidator extends Validators.Fastest {
  constructor() {
    super({ considerNullAsAValue: true } as any);
    const fv = (this as any).validator;
    fv.add("string", stringRule(fv.rules.string));
    fv.add("number", numberRule(fv.rules.number));
  }

  override compile(schema: Params) {
    return super.compile(this.params(schema));
  }

  override validate(params: Params, schema: Params) {
    return super.validate(params, this.params(schema));
  }

  /** A params schema (or an object's props) with every rule rewritten by `rule`. */
  params(schema: Params): Params {
    return Object.fromEntries(
      Object.entries(schema).map(([k, v]) => [k, k.startsWith("$$") ? v : this.rule(v)]),
    );
  }

  rule(rule: unknown): unknown {
    if (typeof rule === "string") rule = (this as any).validator.parseShortHand(rule);
    if (Array.isArray(rule)) return rule.map((r) => this.rule(r));
    if (!rule || typeof rule !== "object") return rule;
    const r: Rule = { ...(rule as Rule) };
    // With considerNullAsAValue, null passes any rule that is not explicitly `nullable: false`.
    if (r.nullable !== true) r.nullable = false;
    if (r.type === "object") {
      if (r.props) r.props = this.params(r.props);
      if (r.properties) r.properties = this.params(r.properties);
    }
    if (r.type === "array" && r.items !== undefined) r.items = this.rule(r.items);
    if (r.type === "multi" && Array.isArray(r.rules)) r.rules = r.rules.map((x: unknown) => this.rule(x));
    return r;
  }
}
