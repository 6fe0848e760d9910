/**
 * TypeScript types generated from the SDL of schema.ts: one interface per input and object type,
 * and one `<Type><Field>Args` per field that takes arguments. Small on purpose (no codegen
 * toolchain to install): the resolvers only need their arguments and the shapes they answer.
 * `npm run graphql:types` writes types.generated.ts; test/unit/graphql-schema.test.ts checks that
 * the committed file is what this function makes of the current schema.
 */
import {
  buildSchema,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
  type GraphQLSchema,
  type GraphQLType,
} from "graphql";

const SCALARS: Record<string, string> = {
  ID: "string",
  String: "string",
  Int: "number",
  Float: "number",
  Boolean: "boolean",
  JSONObject: "Record<string, unknown>",
};

function tsType(type: GraphQLType, nullable = true): string {
  if (isNonNullType(type)) return tsType(type.ofType, false);
  const base = isListType(type)
    ? `Array<${tsType(type.ofType)}>`
    : isScalarType(type)
      ? (SCALARS[type.name] ?? "unknown")
      : isEnumType(type)
        ? type
            .getValues()
            .map((v) => JSON.stringify(v.value))
            .join(" | ")
        : `Gql${type.name}`;
  return nullable ? `${base} | null` : base;
}

const field = (name: string, type: GraphQLType) =>
  isNonNullType(type) ? `  ${name}: ${tsType(type)};` : `  ${name}?: ${tsType(type)};`;

export function generateTypes(sdl: string): string {
  const schema: GraphQLSchema = buildSchema(sdl);
  const out = [
    "/* Generated from services/api/graphql/schema.ts by `npm run graphql:types`: do not edit. */",
    "",
  ];
  const types = Object.values(schema.getTypeMap())
    .filter((t) => !t.name.startsWith("__"))
    .sort((a, b) => a.name.localeCompare(b.name));
  for (const type of types) {
    if (isInputObjectType(type) || (isObjectType(type) && !["Query", "Mutation"].includes(type.name))) {
      out.push(`export interface Gql${type.name} {`);
      for (const f of Object.values(type.getFields())) out.push(field(f.name, f.type));
      out.push("}", "");
    }
    if (!isObjectType(type)) continue;
    for (const f of Object.values(type.getFields())) {
      if (!f.args.length) continue;
      const name = `${type.name}${f.name[0].toUpperCase()}${f.name.slice(1)}Args`;
      out.push(`export interface ${name} {`);
      for (const a of f.args) out.push(field(a.name, a.type));
      out.push("}", "");
    }
  }
  const names = (t: string) =>
    Object.keys((schema.getType(t) as any).getFields())
      .map((n) => JSON.stringify(n))
      .join(" | ");
  out.push(`export type QueryField = ${names("Query")};`);
  out.push(`export type MutationField = ${names("Mutation")};`);
  return out.join("\n") + "\n";
}
