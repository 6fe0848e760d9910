/**
 * Product options and variants with no broker (API.md "Variants and options"): which option sets
 * and variant lists are valid, a variant's title, and what a product shows of its variants. Every
 * problem names the field the way the validator does (`variants[2].options.Size`), so a product
 * whose third variant is invalid is refused whole, before anything is written.
 */
export const MAX_OPTIONS = 3;
export const MAX_OPTION_VALUES = 50;
export const MAX_VARIANTS = 100;
export const DEFAULT_TITLE = "Default";

import type { ProductOption, VariantInput } from "../contracts";

export type { ProductOption, VariantInput };

/** The part of a stored variant these rules read. */
export interface VariantLike {
  options: Record<string, string>;
  price: number;
  active: boolean;
  available?: number;
}

export interface Problem {
  field: string;
  type: string;
  message: string;
}

const problem = (field: string, type: string, message: string): Problem => ({ field, type, message });

/**
 * Amounts per currency: whole minor units from 0 to 1e12. Checked here as well as by the
 * validator, whose record rule lets a null value through.
 */
export function checkPrices(prices: Record<string, unknown> | undefined, field: string): Problem[] {
  return Object.entries(prices ?? {})
    .filter(([, n]) => !(typeof n === "number" && Number.isInteger(n) && n >= 0 && n <= 1e12))
    .map(([currency]) => problem(`${field}.${currency}`, "number", "A price is whole minor units from 0"));
}

/** Option names unique, values unique within an option, within the limits. */
export function checkOptions(options: ProductOption[]): Problem[] {
  const out: Problem[] = [];
  if (options.length > MAX_OPTIONS)
    out.push(problem("options", "arrayMax", `At most ${MAX_OPTIONS} options`));
  const names = new Set<string>();
  options.forEach((o, i) => {
    const key = o.name.toLowerCase();
    if (names.has(key))
      out.push(problem(`options[${i}].name`, "duplicate", `Option ${o.name} is listed twice`));
    names.add(key);
    if (!o.values.length) out.push(problem(`options[${i}].values`, "arrayMin", "An option needs a value"));
    if (o.values.length > MAX_OPTION_VALUES)
      out.push(problem(`options[${i}].values`, "arrayMax", `At most ${MAX_OPTION_VALUES} values`));
    if (new Set(o.values).size !== o.values.length)
      out.push(problem(`options[${i}].values`, "duplicate", `A value of ${o.name} is listed twice`));
  });
  return out;
}

/** The problems of one variant's option values: exactly one listed value of every option. */
export function checkVariantOptions(
  options: ProductOption[],
  values: Record<string, string>,
  field: string,
): Problem[] {
  const out: Problem[] = [];
  for (const o of options) {
    const v = values[o.name];
    if (v === undefined)
      out.push(problem(`${field}.${o.name}`, "required", `A value of ${o.name} is required`));
    else if (!o.values.includes(v))
      out.push(problem(`${field}.${o.name}`, "enumValue", `${v} is not a listed value of ${o.name}`));
  }
  for (const name of Object.keys(values))
    if (!options.some((o) => o.name === name))
      out.push(problem(`${field}.${name}`, "objectStrict", `${name} is not an option of this product`));
  return out;
}

/** The identity of a variant among its siblings: its values in option order. */
export function variantKey(options: ProductOption[], values: Record<string, string>): string {
  return JSON.stringify(options.map((o) => values[o.name] ?? null));
}

/** Every problem of a create body's variants: bad options, two alike, a sku given twice. */
export function checkVariants(options: ProductOption[], variants: VariantInput[]): Problem[] {
  const out: Problem[] = [];
  if (variants.length > MAX_VARIANTS)
    out.push(problem("variants", "arrayMax", `At most ${MAX_VARIANTS} variants`));
  if (variants.length && !options.length)
    out.push(problem("variants", "forbidden", "A product without options has only its default variant"));
  const keys = new Map<string, number>();
  const skus = new Map<string, number>();
  variants.forEach((v, i) => {
    const field = `variants[${i}]`;
    out.push(...checkPrices(v.prices, `${field}.prices`));
    out.push(...checkVariantOptions(options, v.options, `${field}.options`));
    const key = variantKey(options, v.options);
    if (keys.has(key))
      out.push(problem(`${field}.options`, "duplicate", `Same options as variants[${keys.get(key)}]`));
    else keys.set(key, i);
    const sku = v.sku.toLowerCase();
    if (skus.has(sku))
      out.push(problem(`${field}.sku`, "duplicate", `Same sku as variants[${skus.get(sku)}]`));
    else skus.set(sku, i);
  });
  return out;
}

/** "M / Red" in option order, or "Default" for a product without options. */
export function variantTitle(options: ProductOption[], values: Record<string, string>): string {
  return options.length ? options.map((o) => values[o.name]).join(" / ") : DEFAULT_TITLE;
}

/** The product's own price: its lowest active variant price, the base price when none is active. */
export function productPrice(base: number, variants: VariantLike[]): number {
  const active = variants.filter((v) => v.active).map((v) => v.price);
  return active.length ? Math.min(...active) : base;
}

/** The product's `available`: the sum over its active variants. */
export function productAvailable(variants: VariantLike[]): number {
  return variants.filter((v) => v.active).reduce((n, v) => n + (v.available ?? 0), 0);
}

/** `?option.Size=M&option.Color=Red`: true when one active variant has every value asked. */
export function matchesOptions(variants: VariantLike[], wanted: Record<string, string>): boolean {
  const pairs = Object.entries(wanted);
  return variants.some((v) => v.active && pairs.every(([name, value]) => v.options[name] === value));
}

/** Values a PATCH may add to existing options: same names, earlier values kept, in their order. */
export function extendOptions(current: ProductOption[], patch: ProductOption[]): ProductOption[] | Problem[] {
  const out: Problem[] = [];
  patch.forEach((p, i) => {
    const cur = current.find((o) => o.name === p.name);
    if (!cur)
      out.push(problem(`options[${i}].name`, "enumValue", `${p.name} is not an option of this product`));
    else if (!cur.values.every((v) => p.values.includes(v)))
      out.push(problem(`options[${i}].values`, "forbidden", "Existing values cannot be removed"));
  });
  if (patch.length !== current.length)
    out.push(problem("options", "forbidden", "Options are set at creation: list the same options"));
  if (out.length) return out;
  const merged = current.map((o) => ({
    name: o.name,
    values: [
      ...o.values,
      ...patch.find((p) => p.name === o.name)!.values.filter((v) => !o.values.includes(v)),
    ],
  }));
  const limits = checkOptions(merged);
  return limits.length ? limits : merged;
}
