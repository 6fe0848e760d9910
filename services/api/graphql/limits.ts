/**
 * What one GraphQL request may ask for, checked before anything runs (API.md "GraphQL"):
 * - depth ≤ 10: fields nested in fields, through fragments, introspection fields counted;
 * - aliases ≤ 20 per operation, so one request cannot fan out into many copies of a field;
 * - a cost ≤ 25,000: each field costs 1 plus its children's cost, times the page size (`pageSize`
 *   argument, else 20, capped at 100 like REST) for a page field, times 10 for any other list.
 * Depth and aliases are validation rules (static, cached with the document); cost needs the
 * variables (`pageSize: $n`), so it is computed once they are known, still before execution.
 * Batched requests (an array of operations) are refused by the server; that bounds batching at one.
 */
import {
  GraphQLError,
  Kind,
  getNamedType,
  isListType,
  isNonNullType,
  valueFromASTUntyped,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLOutputType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationRule,
} from "graphql";

export const LIMITS = { depth: 10, aliases: 20, cost: 25_000 } as const;
export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;
export const LIST_FACTOR = 10;

const limitError = (message: string, type: string, extra: Record<string, unknown>) =>
  new GraphQLError(message, { extensions: { code: type, type, ...extra } });

type Fragments = Record<string, FragmentDefinitionNode>;

function fragmentsOf(doc: DocumentNode): Fragments {
  const out: Fragments = {};
  for (const d of doc.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) out[d.name.value] = d;
  return out;
}

/** The fields of a selection set, fragments spread in (each fragment once per path: no cycles). */
function fieldsOf(set: SelectionSetNode, fragments: Fragments, seen: Set<string> = new Set()): FieldNode[] {
  const out: FieldNode[] = [];
  for (const s of set.selections) {
    if (s.kind === Kind.FIELD) out.push(s);
    else if (s.kind === Kind.INLINE_FRAGMENT) out.push(...fieldsOf(s.selectionSet, fragments, seen));
    else {
      const f = fragments[s.name.value];
      if (!f || seen.has(f.name.value)) continue;
      out.push(...fieldsOf(f.selectionSet, fragments, new Set([...seen, f.name.value])));
    }
  }
  return out;
}

export function depthOf(set: SelectionSetNode, fragments: Fragments): number {
  let max = 0;
  for (const f of fieldsOf(set, fragments))
    max = Math.max(max, 1 + (f.selectionSet ? depthOf(f.selectionSet, fragments) : 0));
  return max;
}

export function aliasesOf(set: SelectionSetNode, fragments: Fragments): number {
  let n = 0;
  for (const f of fieldsOf(set, fragments))
    n += (f.alias ? 1 : 0) + (f.selectionSet ? aliasesOf(f.selectionSet, fragments) : 0);
  return n;
}

const operations = (doc: DocumentNode) =>
  doc.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);

export const DepthLimitRule: ValidationRule = (context) => ({
  Document(doc) {
    const fragments = fragmentsOf(doc);
    for (const op of operations(doc)) {
      const depth = depthOf(op.selectionSet, fragments);
      if (depth > LIMITS.depth)
        context.reportError(
          limitError(
            `The query is ${depth} levels deep; at most ${LIMITS.depth} are allowed`,
            "DEPTH_LIMIT",
            {
              depth,
              limit: LIMITS.depth,
            },
          ),
        );
    }
  },
});

export const AliasLimitRule: ValidationRule = (context) => ({
  Document(doc) {
    const fragments = fragmentsOf(doc);
    for (const op of operations(doc)) {
      const aliases = aliasesOf(op.selectionSet, fragments);
      if (aliases > LIMITS.aliases)
        context.reportError(
          limitError(
            `The query uses ${aliases} aliases; at most ${LIMITS.aliases} are allowed`,
            "ALIAS_LIMIT",
            {
              aliases,
              limit: LIMITS.aliases,
            },
          ),
        );
    }
  },
});

function pageSizeOf(field: FieldNode, variables: Record<string, unknown>): number {
  const arg = field.arguments?.find((a) => a.name.value === "pageSize");
  const value = arg ? valueFromASTUntyped(arg.value, variables) : undefined;
  const n = typeof value === "number" && value > 0 ? Math.floor(value) : DEFAULT_PAGE_SIZE;
  return Math.min(n, MAX_PAGE_SIZE);
}

const unwrap = (t: GraphQLOutputType): GraphQLOutputType => (isNonNullType(t) ? t.ofType : t);

/** The fields' definitions by name on a type, introspection's meta fields included. */
function fieldType(schema: GraphQLSchema, parent: string, name: string): GraphQLOutputType | undefined {
  if (name === "__schema") return schema.getType("__Schema") as GraphQLOutputType;
  if (name === "__type") return schema.getType("__Type") as GraphQLOutputType;
  const type: any = schema.getType(parent);
  return type?.getFields?.()[name]?.type;
}

function costOf(
  schema: GraphQLSchema,
  parent: string,
  set: SelectionSetNode,
  fragments: Fragments,
  variables: Record<string, unknown>,
): number {
  let total = 0;
  for (const f of fieldsOf(set, fragments)) {
    if (f.name.value === "__typename") continue;
    const type = fieldType(schema, parent, f.name.value);
    let factor = 1;
    if (
      f.arguments?.some((a) => a.name.value === "pageSize") ||
      /Page$/.test(getNamedType(type!)?.name ?? "")
    )
      factor = pageSizeOf(f, variables);
    else if (type && isListType(unwrap(type)) && f.name.value !== "rows") factor = LIST_FACTOR;
    const children =
      f.selectionSet && type
        ? costOf(schema, getNamedType(type).name, f.selectionSet, fragments, variables)
        : 0;
    total += 1 + factor * children;
  }
  return total;
}

/** The cost of the operation that will run (0 if there is none). */
export function operationCost(
  schema: GraphQLSchema,
  doc: DocumentNode,
  operationName: string | null | undefined,
  variables: Record<string, unknown>,
): number {
  const ops = operations(doc);
  const op = operationName ? ops.find((o) => o.name?.value === operationName) : ops[0];
  const root = op?.operation === "mutation" ? schema.getMutationType() : schema.getQueryType();
  if (!op || !root) return 0;
  return costOf(schema, root.name, op.selectionSet, fragmentsOf(doc), variables);
}

/** A GraphQLError when the operation costs more than the limit, else null. */
export function checkCost(
  schema: GraphQLSchema,
  doc: DocumentNode,
  operationName: string | null | undefined,
  variables: Record<string, unknown>,
): GraphQLError | null {
  const cost = operationCost(schema, doc, operationName, variables);
  if (cost <= LIMITS.cost) return null;
  return limitError(`The query costs ${cost}; at most ${LIMITS.cost} is allowed`, "COST_LIMIT", {
    cost,
    limit: LIMITS.cost,
  });
}
