/**
 * Catalogue queries answered from the gateway's cache, as REST's GET /api/products is
 * (GATEWAY_READS in services/api/routes.ts): a query whose every root field is `products`,
 * `product` or `facets` reads only public catalogue data, so its serialized answer is kept under
 * `products.gw.gql:<hash of query, variables, operation name and Accept>`. The key lives under
 * `products.**`, so every product or stock write clears it together with REST's.
 *
 * Only answers that ran (limits passed) and carry no error are stored; the rate limit and the
 * request's other hooks run before the cache is read.
 */
import { createHash } from "node:crypto";
import { Kind, parse, type DocumentNode } from "graphql";

const CATALOGUE_ROOTS = new Set(["products", "product", "facets", "__typename"]);
/** Queries remembered as (not) cacheable, by their text; a bounded map, cleared when full. */
const MAX_REMEMBERED = 1000;
const remembered = new Map<string, boolean>();

function onlyCatalogue(doc: DocumentNode, operationName: unknown): boolean {
  const ops = doc.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
  const op = typeof operationName === "string" ? ops.find((o) => o.name?.value === operationName) : ops[0];
  if (!op || op.operation !== "query" || (ops.length > 1 && typeof operationName !== "string")) return false;
  return op.selectionSet.selections.every((s) => s.kind === Kind.FIELD && CATALOGUE_ROOTS.has(s.name.value));
}

function cacheable(query: string, operationName: unknown): boolean {
  const memo = `${String(operationName)}\n${query}`;
  let yes = remembered.get(memo);
  if (yes === undefined) {
    try {
      yes = onlyCatalogue(parse(query), operationName);
    } catch {
      yes = false;
    }
    if (remembered.size >= MAX_REMEMBERED) remembered.clear();
    remembered.set(memo, yes);
  }
  return yes;
}

/** The cache key of a catalogue-only request, or null for anything else. */
export function catalogueKey(params: Record<string, unknown>, accept: string | undefined): string | null {
  const { query, variables, operationName } = params;
  if (typeof query !== "string" || !cacheable(query, operationName)) return null;
  const hash = createHash("sha256")
    .update(JSON.stringify([query, variables ?? null, operationName ?? null, accept ?? ""]))
    .digest("base64url");
  return `products.gw.gql:${hash}`;
}
