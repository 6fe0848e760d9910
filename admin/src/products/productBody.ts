/**
 * A product's form as the screens edit it, and the API calls that make it so (API.md "Variants
 * and options"): one POST /api/products on create; on edit a PATCH of the product, then each
 * variant added, changed or removed, then each stock level set. Prices are minor units.
 */

export interface PriceEntry {
  currency: string;
  amount: number;
}

export interface VariantForm {
  id?: string;
  sku?: string;
  /** The option values in the order of the product's options: "M / Red" (the variant's title). */
  values?: string;
  price?: number | null;
  priceList?: PriceEntry[];
  stock?: number | null;
  active?: boolean;
}

export interface ProductForm {
  id?: string;
  name?: string;
  sku?: string;
  description?: string;
  category?: string;
  price?: number;
  currency?: string;
  active?: boolean;
  priceList?: PriceEntry[];
  options?: { name: string; values: string[] }[];
  variants?: VariantForm[];
  /** A product without options: its one variant's units. */
  stock?: number | null;
}

export interface Step {
  method: string;
  path: string;
  body?: Record<string, unknown>;
}

const blank = (v: unknown) => v === undefined || v === null || v === "";

export function pricesOf(list: PriceEntry[] | undefined): Record<string, number> | undefined {
  const entries = (list ?? []).filter((p) => p && !blank(p.currency) && !blank(p.amount));
  return entries.length
    ? Object.fromEntries(entries.map((p) => [p.currency.trim().toUpperCase(), Number(p.amount)]))
    : undefined;
}

export const priceListOf = (prices: Record<string, number> | undefined): PriceEntry[] =>
  Object.entries(prices ?? {}).map(([currency, amount]) => ({ currency, amount }));

const optionsOf = (form: ProductForm) =>
  (form.options ?? [])
    .filter((o) => o && !blank(o.name))
    .map((o) => ({ name: o.name.trim(), values: (o.values ?? []).map((v) => v.trim()).filter(Boolean) }));

/** "M / Red" against options Size, Color -> {Size: "M", Color: "Red"}. */
export function variantOptions(form: ProductForm, values: string | undefined): Record<string, string> {
  const parts = (values ?? "").split("/").map((v) => v.trim());
  return Object.fromEntries(optionsOf(form).map((o, i) => [o.name, parts[i] ?? ""]));
}

function variantBody(form: ProductForm, v: VariantForm, withStock: boolean): Record<string, unknown> {
  const body: Record<string, unknown> = { sku: v.sku, options: variantOptions(form, v.values) };
  if (!blank(v.price)) body.price = Number(v.price);
  const prices = pricesOf(v.priceList);
  if (prices) body.prices = prices;
  if (withStock && !blank(v.stock)) body.stock = Number(v.stock);
  return body;
}

/** The POST /api/products body of a new product's form. */
export function productBody(form: ProductForm): Record<string, unknown> {
  const body: Record<string, unknown> = { name: form.name, price: Number(form.price ?? 0) };
  for (const key of ["sku", "description", "category", "currency"] as const)
    if (!blank(form[key])) body[key] = form[key];
  const prices = pricesOf(form.priceList);
  if (prices) body.prices = prices;
  const options = optionsOf(form);
  if (options.length) {
    body.options = options;
    body.variants = (form.variants ?? []).map((v) => variantBody(form, v, true));
  } else if (!blank(form.stock)) body.stock = Number(form.stock);
  return body;
}

/** A product as the API answers it, with the form's own fields added. */
export function productForm(product: any): ProductForm & Record<string, unknown> {
  const hasOptions = (product.options ?? []).length > 0;
  return {
    ...product,
    priceList: priceListOf(product.prices),
    stock: product.available,
    variants: (product.variants ?? []).map((v: any) => ({
      ...v,
      values: hasOptions
        ? (product.options as { name: string }[]).map((o) => v.options?.[o.name] ?? "").join(" / ")
        : "",
      priceList: priceListOf(v.prices),
      stock: v.available,
    })),
  };
}

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/** The calls that turn `previous` (as loaded) into `form` (as saved). */
export function productChanges(form: ProductForm, previous: ProductForm): Step[] {
  const id = encodeURIComponent(String(previous.id));
  const steps: Step[] = [];
  const patch: Record<string, unknown> = {};
  for (const key of ["name", "description", "category", "currency", "active"] as const)
    if (!same(form[key], previous[key]) && !(blank(form[key]) && blank(previous[key])))
      patch[key] = form[key] ?? "";
  if (!same(form.price, previous.price)) patch.price = Number(form.price);
  if (!same(pricesOf(form.priceList), pricesOf(previous.priceList)))
    patch.prices = pricesOf(form.priceList) ?? {};
  if (!same(optionsOf(form), optionsOf(previous))) patch.options = optionsOf(form);
  if (Object.keys(patch).length) steps.push({ method: "PATCH", path: `/products/${id}`, body: patch });

  const hasOptions = optionsOf(previous).length > 0;
  const before = new Map((previous.variants ?? []).map((v) => [v.id, v]));
  const kept = new Set<string>();
  const stock: Step[] = [];
  for (const v of form.variants ?? []) {
    const old = v.id ? before.get(v.id) : undefined;
    if (!old) {
      if (hasOptions)
        steps.push({ method: "POST", path: `/products/${id}/variants`, body: variantBody(form, v, true) });
      continue;
    }
    kept.add(old.id!);
    const vpatch: Record<string, unknown> = {};
    if (!same(v.sku, old.sku)) vpatch.sku = v.sku;
    if (hasOptions && !same(v.price, old.price) && !blank(v.price)) vpatch.price = Number(v.price);
    if (!same(pricesOf(v.priceList), pricesOf(old.priceList))) vpatch.prices = pricesOf(v.priceList) ?? {};
    if (!same(v.active, old.active)) vpatch.active = v.active;
    if (Object.keys(vpatch).length)
      steps.push({
        method: "PATCH",
        path: `/products/${id}/variants/${encodeURIComponent(old.id!)}`,
        body: vpatch,
      });
    if (!same(v.stock, old.stock) && !blank(v.stock))
      stock.push({
        method: "PUT",
        path: `/inventory/${encodeURIComponent(old.id!)}`,
        body: { available: Number(v.stock) },
      });
  }
  if (hasOptions)
    for (const old of previous.variants ?? [])
      if (old.id && !kept.has(old.id))
        steps.push({ method: "DELETE", path: `/products/${id}/variants/${encodeURIComponent(old.id)}` });
  if (!hasOptions && !same(form.stock, previous.stock) && !blank(form.stock))
    stock.push({ method: "PUT", path: `/inventory/${id}`, body: { available: Number(form.stock) } });
  return [...steps, ...stock];
}
