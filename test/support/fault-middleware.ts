/**
 * Test-only fault injection, kept out of product code: a Moleculer middleware that kills its own
 * node (SIGKILL: no cleanup, no graceful stop) as soon as a call this node made to `action` has
 * returned, e.g. `inventory.reserve`, so the caller dies between that step and its next write.
 *
 * bin/node.ts adds it only when FAULT_CRASH_AFTER is set, which lib/config.ts accepts only with
 * NODE_ENV=test. It is compiled into dist/ (tsconfig.build.json) because e2e suites spawn
 * dist/bin/node.js.
 */
import type { Context, Middleware, ServiceBroker } from "moleculer";

export function FaultMiddleware(
  action: string,
  kill: () => void = () => process.kill(process.pid, "SIGKILL"),
): Middleware {
  const crashAfter = (next: (ctx: Context) => Promise<unknown>) => async (ctx: Context) => {
    const res = await next(ctx);
    kill();
    return res;
  };
  return {
    name: "FaultCrashAfter",
    // A call to another node.
    remoteAction(next: any, schema: any) {
      return schema.name === action ? crashAfter(next) : next;
    },
    // A call to a service in this process; a request another node sent here is that node's fault.
    localAction(this: ServiceBroker, next: any, schema: any) {
      if (schema.name !== action) return next;
      const { nodeID } = this;
      const crashing = crashAfter(next);
      return (ctx: Context) => (ctx.nodeID === nodeID ? crashing(ctx) : next(ctx));
    },
  } as Middleware;
}
