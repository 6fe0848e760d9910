/** Typed wrappers: every call site is checked against contracts/. */
import type { Context, ServiceBroker, CallingOptions } from "moleculer";
import type { ActionName, Actions } from "../contracts";

type Caller = Pick<Context, "call"> | Pick<ServiceBroker, "call">;

export function call<A extends ActionName>(
  via: Caller,
  action: A,
  params: Actions[A]["params"],
  opts?: CallingOptions,
): Promise<Actions[A]["result"]> {
  return (via as Context).call(action, params, opts) as Promise<Actions[A]["result"]>;
}
