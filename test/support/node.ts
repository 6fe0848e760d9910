/** A whole node (bin/node.ts startNode) in this test's process, with its own config and modules. */
import type { ServiceBroker } from "moleculer";
import type { startNode } from "../../bin/node";
import { freePort } from "./cluster";

/**
 * Starts a node with `env` over this process's environment (an `undefined` value unsets a
 * variable) and gives it back with its base URL. Fresh modules, so the configuration, read once
 * per module registry, is this node's own.
 */
export async function bootNode(
  env: Record<string, string | undefined>,
): Promise<{ broker: ServiceBroker; base: string }> {
  const saved = { ...process.env };
  Object.assign(process.env, { PORT: String(await freePort()), LOG_LEVEL: "error" });
  for (const [name, value] of Object.entries(env))
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  const base = `http://127.0.0.1:${process.env.PORT}`;
  let starting!: ReturnType<typeof startNode>;
  jest.isolateModules(() => (starting = require("../../bin/node").startNode()));
  try {
    return { broker: await starting, base };
  } finally {
    process.env = saved;
  }
}
