/** Writes services/api/graphql/types.generated.ts from the schema (`npm run graphql:types`). */
import fs from "node:fs";
import path from "node:path";
import { generateTypes } from "../services/api/graphql/codegen";
import { typeDefs } from "../services/api/graphql/schema";

const root = path.resolve(__dirname, __dirname.includes(`${path.sep}dist${path.sep}`) ? "../.." : "..");
export const TYPES_FILE = path.join(root, "services/api/graphql/types.generated.ts");

/** The file's text: generated, then laid out by the project's Prettier settings. */
export async function typesFile(): Promise<string> {
  const prettier = await import("prettier");
  const options = (await prettier.resolveConfig(TYPES_FILE)) ?? {};
  return prettier.format(generateTypes(typeDefs), { ...options, parser: "typescript" });
}

if (require.main === module)
  void typesFile().then((text) => {
    fs.writeFileSync(TYPES_FILE, text);
    console.log(`wrote ${path.relative(root, TYPES_FILE)}`);
  });
