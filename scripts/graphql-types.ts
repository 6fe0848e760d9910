/** Writes services/api/graphql/types.generated.ts from the schema (`npm run graphql:types`). */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { generateTypes } from "../services/api/graphql/codegen";
import { typeDefs } from "../services/api/graphql/schema";

const root = path.resolve(__dirname, __dirname.includes(`${path.sep}dist${path.sep}`) ? "../.." : "..");
export const TYPES_FILE = path.join(root, "services/api/graphql/types.generated.ts");

/** The file's text: generated, then laid out by the project's Prettier (its CLI: a dev dependency). */
export function typesFile(): string {
  const prettier = require.resolve("prettier/bin/prettier.cjs", { paths: [root] });
  const out = spawnSync(process.execPath, [prettier, "--stdin-filepath", TYPES_FILE], {
    input: generateTypes(typeDefs),
    encoding: "utf8",
  });
  if (out.status !== 0) throw new Error(`prettier failed: ${out.stderr}`);
  return out.stdout;
}

if (require.main === module) {
  fs.writeFileSync(TYPES_FILE, typesFile());
  console.log(`wrote ${path.relative(root, TYPES_FILE)}`);
}
