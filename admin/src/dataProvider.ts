/**
 * react-admin's data provider over the shop's REST contract (API.md): `?page&pageSize` paging
 * with `{rows, total}`, the products' `sort` values, each resource's own filters, and errors as
 * `{name, message, code, type, data}`: a 422's `data` becomes `body.errors` shaped like the form,
 * which react-admin shows beside each field. Only `import type` from ra-core, so it runs anywhere.
 */
import type { DataProvider, GetListParams, Identifier, RaRecord } from "ra-core";
import { ApiError, type Session } from "./session";
import { productBody, productChanges, productForm, type ProductForm } from "./products/productBody";

/** ra-core's HttpError shape: what its forms, notifications and authProvider.checkError read. */
export class ProviderError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly body: Record<string, unknown>,
  ) {
    super(message);
    this.name = "HttpError";
  }
}

interface ResourceSpec {
  path: string;
  /** false: the route answers `{rows}` whole (regions, shipping options): paged here. */
  paged: boolean;
  /** No GET /<path>/:id in the contract: a record is found in the list pages. */
  scanForOne?: boolean;
  /** react-admin filter key -> query key. */
  filters?: Record<string, string>;
  /** Field -> the `sort` values of the route (products only). */
  sorts?: Record<string, string>;
  /** Fields a PATCH may carry (the contract refuses unknown ones with a 422). */
  writable?: string[];
}

export const RESOURCES: Record<string, ResourceSpec> = {
  products: {
    path: "/products",
    paged: true,
    filters: { q: "q", category: "category", inStock: "inStock", minPrice: "minPrice", maxPrice: "maxPrice" },
    sorts: { price: "price", name: "name", createdAt: "createdAt" },
  },
  orders: {
    path: "/orders",
    paged: true,
    filters: { status: "status", userId: "userId", from: "from", to: "to" },
  },
  customers: { path: "/users", paged: true, scanForOne: true },
  returns: { path: "/returns", paged: true, scanForOne: true, filters: { status: "status" } },
  promotions: {
    path: "/promotions",
    paged: true,
    scanForOne: true,
    writable: [
      "code",
      "type",
      "value",
      "currency",
      "minSubtotal",
      "startsAt",
      "endsAt",
      "usageLimit",
      "perCustomerLimit",
      "active",
    ],
  },
  regions: {
    path: "/regions",
    paged: false,
    scanForOne: true,
    writable: ["name", "currency", "countries", "taxRate", "taxInclusive"],
  },
  "shipping-options": {
    path: "/shipping-options",
    paged: false,
    scanForOne: true,
    filters: { regionId: "regionId" },
    writable: ["name", "regionId", "amount", "freeAbove", "active"],
  },
  webhooks: { path: "/webhooks", paged: true, scanForOne: true, writable: ["url", "events", "active"] },
};

const MAX_PAGE = 100;

function spec(resource: string): ResourceSpec {
  const s = RESOURCES[resource];
  if (!s) throw new ProviderError(`Unknown resource ${resource}`, 404, {});
  return s;
}

/** "variants[0].sku" -> {variants: [{sku: message}]}; what has no field goes to root.serverError. */
export function fieldErrors(body: { message?: string; data?: unknown }): Record<string, any> {
  const errors: Record<string, any> = {};
  const list = Array.isArray(body.data) ? body.data : [];
  for (const entry of list) {
    const field = typeof entry?.field === "string" ? entry.field : "";
    const message = String(entry?.message ?? body.message ?? "Invalid");
    const keys = field.split(/[.[\]]+/).filter(Boolean);
    if (!keys.length) continue;
    let node: any = errors;
    keys.forEach((key: string, i: number) => {
      const last = i === keys.length - 1;
      if (last) {
        if (node[key] === undefined) node[key] = message;
        return;
      }
      if (typeof node[key] !== "object" || node[key] === null)
        node[key] = /^\d+$/.test(keys[i + 1]) ? [] : {};
      node = node[key];
    });
  }
  errors.root = { serverError: body.message ?? "Invalid input" };
  return errors;
}

/** Any failure as ra-core's HttpError: the API's message, and a 422's fields for the form. */
export function toProviderError(err: unknown): ProviderError {
  if (err instanceof ProviderError) return err;
  if (err instanceof ApiError) {
    const body: Record<string, unknown> = { ...err.body };
    if (err.status === 422) body.errors = fieldErrors(err.body);
    return new ProviderError(err.body.message ?? err.message, err.status, body);
  }
  return new ProviderError(err instanceof Error ? err.message : String(err), 0, {});
}

/** A list's query string: paging, the route's sort, and only the filters the route knows. */
export function listQuery(
  s: ResourceSpec,
  params: Pick<GetListParams, "pagination" | "sort" | "filter">,
): string {
  const q = new URLSearchParams();
  if (s.paged) {
    q.set("page", String(params.pagination?.page ?? 1));
    q.set("pageSize", String(Math.min(params.pagination?.perPage ?? 25, MAX_PAGE)));
  }
  const sort = params.sort && s.sorts?.[params.sort.field];
  if (sort) q.set("sort", params.sort!.order === "DESC" ? `-${sort}` : sort);
  for (const [key, value] of Object.entries(params.filter ?? {})) {
    const name = s.filters?.[key];
    if (name === undefined || value === undefined || value === null || value === "") continue;
    q.set(name, String(value));
  }
  const text = q.toString();
  return text ? `?${text}` : "";
}

const pick = (data: Record<string, any>, keys: string[] | undefined) =>
  Object.fromEntries(Object.entries(data).filter(([k]) => !keys || keys.includes(k)));

/** The fields that changed, among those a PATCH may carry. */
function changed(data: Record<string, any>, previous: Record<string, any> | undefined, keys?: string[]) {
  return Object.fromEntries(
    Object.entries(pick(data, keys)).filter(([k, v]) => JSON.stringify(v) !== JSON.stringify(previous?.[k])),
  );
}

/** A variant's `options` error is shown on the field the form types them in (`values`, "M / Red"). */
function variantFieldErrors(err: ProviderError): ProviderError {
  const rows = (err.body.errors as Record<string, any> | undefined)?.variants;
  if (Array.isArray(rows))
    for (const row of rows) if (row && row.options !== undefined) row.values ??= row.options;
  return err;
}

export interface ShopDataProvider extends DataProvider {
  stats(range?: { from?: string; to?: string }): Promise<any>;
  orderAction(id: Identifier, action: "ship" | "deliver" | "cancel"): Promise<any>;
  refund(id: Identifier, amount: number, reason: string): Promise<any>;
  returnAction(id: Identifier, action: "receive" | "reject", body: Record<string, unknown>): Promise<any>;
  setActive(resource: string, id: Identifier, active: boolean): Promise<any>;
}

export function shopDataProvider(session: Session): ShopDataProvider {
  const call = async <T = any>(method: string, path: string, body?: unknown): Promise<T> => {
    try {
      return await session.request<T>(method, path, body);
    } catch (err) {
      throw toProviderError(err);
    }
  };

  async function page(
    resource: string,
    params: Pick<GetListParams, "pagination" | "sort" | "filter">,
  ): Promise<any> {
    const s = spec(resource);
    const answer = await call<{ rows: RaRecord[]; total?: number }>("GET", s.path + listQuery(s, params));
    if (s.paged) return { data: answer.rows, total: answer.total ?? answer.rows.length };
    const { page: p = 1, perPage = 25 } = params.pagination ?? {};
    return { data: answer.rows.slice((p - 1) * perPage, p * perPage), total: answer.rows.length };
  }

  /** Routes without GET /:id: the record is looked up page by page (lists are small: ≤ 50 pages). */
  async function scan(resource: string, id: Identifier): Promise<RaRecord> {
    for (let p = 1; p <= 50; p++) {
      const { data, total } = await page(resource, {
        pagination: { page: p, perPage: MAX_PAGE },
        filter: {},
      });
      const found = data.find((r: RaRecord) => String(r.id) === String(id));
      if (found) return found;
      if (p * MAX_PAGE >= total) break;
    }
    throw new ProviderError("Not found", 404, { type: "NOT_FOUND" });
  }

  const getOne = async (resource: string, id: Identifier): Promise<any> => {
    const s = spec(resource);
    const data = s.scanForOne
      ? await scan(resource, id)
      : await call("GET", `${s.path}/${encodeURIComponent(id)}`);
    return { data: resource === "products" ? productForm(data) : data };
  };

  const provider: ShopDataProvider = {
    getList: (resource, params) => page(resource, params),
    getOne: (resource, params) => getOne(resource, params.id),
    getMany: async (resource, params) => ({
      data: await Promise.all(params.ids.map(async (id) => (await getOne(resource, id)).data)),
    }),
    getManyReference: (resource, params) =>
      page(resource, { ...params, filter: { ...params.filter, [params.target]: params.id } }),

    async create(resource, params): Promise<any> {
      const s = spec(resource);
      if (resource === "products") {
        const body = productBody(params.data as ProductForm);
        return {
          data: productForm(
            await call("POST", s.path, body).catch((err) => Promise.reject(variantFieldErrors(err))),
          ),
        };
      }
      return { data: await call("POST", s.path, pick(params.data, s.writable)) };
    },

    async update(resource, params): Promise<any> {
      const s = spec(resource);
      const id = encodeURIComponent(params.id);
      if (resource === "products") {
        for (const step of productChanges(params.data as ProductForm, params.previousData as ProductForm))
          await call(step.method, step.path, step.body).catch((err) =>
            Promise.reject(variantFieldErrors(err)),
          );
        return { data: productForm(await call("GET", `${s.path}/${id}`)) };
      }
      const body = changed(params.data, params.previousData, s.writable);
      return {
        data: Object.keys(body).length ? await call("PATCH", `${s.path}/${id}`, body) : params.previousData,
      };
    },

    async updateMany(resource, params) {
      await Promise.all(
        params.ids.map((id) =>
          call("PATCH", `${spec(resource).path}/${encodeURIComponent(id)}`, params.data),
        ),
      );
      return { data: params.ids };
    },

    async delete(resource, params) {
      await call("DELETE", `${spec(resource).path}/${encodeURIComponent(params.id)}`);
      return { data: params.previousData as any };
    },

    async deleteMany(resource, params) {
      for (const id of params.ids) await call("DELETE", `${spec(resource).path}/${encodeURIComponent(id)}`);
      return { data: params.ids };
    },

    stats(range = {}) {
      const q = new URLSearchParams(
        Object.entries(range).filter(([, v]) => v) as [string, string][],
      ).toString();
      return call("GET", `/admin/stats${q ? `?${q}` : ""}`);
    },

    orderAction(id, action) {
      const path = `/orders/${encodeURIComponent(id)}`;
      if (action === "cancel") return call("POST", `${path}/cancel`);
      return call("PATCH", `${path}/status`, { status: action === "ship" ? "shipped" : "delivered" });
    },

    refund(id, amount, reason) {
      return call("POST", `/orders/${encodeURIComponent(id)}/refunds`, { amount, reason });
    },

    returnAction(id, action, body) {
      return call("POST", `/returns/${encodeURIComponent(id)}/${action}`, body);
    },

    setActive(resource, id, active) {
      return call("PATCH", `${spec(resource).path}/${encodeURIComponent(id)}`, { active });
    },
  };
  return provider;
}
