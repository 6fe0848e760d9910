/**
 * The request id of the work in progress, for log lines. The gateway sets `ctx.requestID` from
 * `X-Request-Id`; Moleculer carries it in request and event packets, @moleculer/channels in
 * message headers. This middleware runs every action, event and channel handler (and the handling
 * of an incoming packet) inside an AsyncLocalStorage holding that id, so the logger's mixin
 * stamps each line written on the way, on whichever node, without passing ctx around; and calls,
 * events and channel messages started there without a ctx (`this.broker.call`, the outbox) carry
 * it on.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { Context, Middleware, ServiceBroker } from "moleculer";

const storage = new AsyncLocalStorage<string>();

/** The request id of the handler this code runs in, if any. */
export function currentRequestId(): string | undefined {
  return storage.getStore();
}

/** Fields for a log line: `{ requestId }` inside a handler, nothing outside. */
export function requestLogFields(): { requestId?: string } {
  const id = storage.getStore();
  return id === undefined ? {} : { requestId: id };
}

type Handler = (ctx: Context, ...rest: unknown[]) => unknown;
type Opts = {
  parentCtx?: unknown;
  requestID?: string;
  groups?: string | string[];
  ctx?: unknown;
  headers?: Record<string, string>;
};
type Send<O = Opts> = (name: string, payload: unknown, opts?: O) => unknown;

function runInRequest(handler: Handler): Handler {
  return function (this: unknown, ctx, ...rest) {
    const id = ctx?.requestID;
    return id ? storage.run(id, () => handler.call(this, ctx, ...rest)) : handler.call(this, ctx, ...rest);
  };
}

/** broker.call/emit/broadcast without a parent ctx: the new ctx continues the current request. */
function inheritRequestId(next: Send): Send<Opts | string | string[]> {
  return (name, payload, opts) => {
    const id = storage.getStore();
    // emit and broadcast also take a group name or a list of groups.
    if (typeof opts === "string" || Array.isArray(opts)) opts = { groups: opts };
    if (id === undefined || opts?.parentCtx || opts?.requestID) return next(name, payload, opts);
    return next(name, payload, { ...opts, requestID: id });
  };
}

/** A channel message sent without a ctx: the consumer's ctx gets the request id from the header. */
function tagChannelMessage(next: Send): Send {
  return (name, payload, opts) => {
    const id = storage.getStore();
    if (id === undefined || opts?.ctx || opts?.headers?.$requestID) return next(name, payload, opts);
    return next(name, payload, { ...opts, headers: { ...opts?.headers, $requestID: id } });
  };
}

/** Runs the handlers themselves in the request's storage. */
const HandlerMiddleware = {
  name: "RequestContextHandlers",
  localAction: runInRequest,
  localEvent: runInRequest,
  // @moleculer/channels with `context: true` passes a ctx rebuilt from the message headers.
  localChannel: runInRequest,
};

/** Moleculer's typings give the hooks the wrapped method's return type instead of the method's. */
export const RequestContextMiddleware = {
  name: "RequestContext",
  call: inheritRequestId,
  emit: inheritRequestId,
  broadcast: inheritRequestId,
  sendToChannel: tagChannelMessage,
  // Transit's own lines about an incoming request ("<= Request ... received") belong to it too.
  transitMessageHandler(next: (cmd: string, packet: any) => Promise<void>) {
    return (cmd: string, packet: any) => {
      const id = packet?.payload?.requestID;
      return typeof id === "string" ? storage.run(id, () => next(cmd, packet)) : next(cmd, packet);
    };
  },
  // Options' middlewares come before Moleculer's own (tracing, retries, timeouts...); added
  // here, after them, the handler wrappers are outermost, so those lines carry the id too.
  created(broker: ServiceBroker) {
    broker.middlewares.add(HandlerMiddleware as unknown as Middleware);
  },
} as unknown as Middleware;
