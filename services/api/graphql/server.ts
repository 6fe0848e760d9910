/**
 * The GraphQL server: GraphQL Yoga over the schema and resolvers of this folder, run by the
 * gateway's `api.graphql` action (mounted at /graphql in services/api.service.ts). The action
 * hands Yoga a Fetch Request rebuilt from what moleculer-web parsed, so the route's hooks (rate
 * limit, token check, request id, error shape of refusals) are the REST routes' own.
 *
 * Yoga gives the GraphQL-over-HTTP rules (GET for queries only, 405 for a mutation over GET,
 * parse and validation caches); the plugin below adds the limits of limits.ts and, in
 * production, refuses introspection. Batching (an array of operations) stays off.
 */
import { GraphQLError, NoSchemaIntrospectionCustomRule } from "graphql";
import { createSchema, createYoga, type Plugin, type YogaServerInstance } from "graphql-yoga";
import type { GraphQLContext } from "./context";
import { withRestType } from "./errors";
import { AliasLimitRule, DepthLimitRule, checkCost } from "./limits";
import { resolvers } from "./resolvers";
import { typeDefs } from "./schema";

export const GRAPHQL_PATH = "/graphql";

export const schema = createSchema<GraphQLContext>({ typeDefs, resolvers: resolvers as any });

function limitsPlugin(production: boolean): Plugin {
  return {
    onValidate({ addValidationRule }) {
      addValidationRule(DepthLimitRule);
      addValidationRule(AliasLimitRule);
      if (production) addValidationRule(NoSchemaIntrospectionCustomRule);
    },
    onResultProcess({ result, setResult }) {
      const errors = (result as any)?.errors as GraphQLError[] | undefined;
      if (!Array.isArray(result) && errors?.length)
        setResult({ ...(result as object), errors: errors.map(withRestType) });
    },
    onExecute({ args, setResultAndStopExecution }) {
      const tooCostly = checkCost(args.schema, args.document, args.operationName, args.variableValues ?? {});
      if (tooCostly) setResultAndStopExecution({ errors: [tooCostly] });
    },
  };
}

/** What leaves of an error nobody mapped: nothing of its message, stack or cause. */
function maskError(error: unknown, log: (err: unknown) => void): Error {
  const original = (error as GraphQLError)?.originalError;
  if (error instanceof GraphQLError && (!original || original instanceof GraphQLError)) return error;
  log(original ?? error);
  const located = error instanceof GraphQLError ? { nodes: error.nodes, path: error.path } : {};
  return new GraphQLError("Internal server error", {
    ...located,
    extensions: { code: "INTERNAL_SERVER_ERROR", type: "INTERNAL", status: 500 },
  });
}

export function createGraphQLServer(opts: {
  production: boolean;
  logError: (err: unknown) => void;
}): YogaServerInstance<GraphQLContext, object> {
  return createYoga<GraphQLContext>({
    schema,
    graphqlEndpoint: GRAPHQL_PATH,
    graphiql: false,
    landingPage: false,
    batching: false,
    logging: false,
    maskedErrors: { maskError: (error) => maskError(error, opts.logError) },
    plugins: [limitsPlugin(opts.production)],
  });
}
