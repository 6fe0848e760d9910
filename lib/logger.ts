/**
 * Moleculer's Pino logger options: JSON lines in production, pino-pretty (synchronous, so no line
 * is lost on exit) otherwise. Every line written inside a handler carries `requestId`.
 */
import { inspect } from "node:util";
import type { LoggerConfig } from "moleculer";
import { stdTimeFunctions, type DestinationStream, type LoggerOptions } from "pino";
import type { Config } from "./config";
import { requestLogFields } from "./request-context";

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype;

/** Keys of pino's own that a logged object must not repeat in the line. */
const RESERVED = new Set(["level", "time", "msg", "pid", "hostname", "requestId"]);

/**
 * Moleculer code logs console-style (`logger.info("Request failed", { url, err })`, `("a", err)`),
 * while pino drops arguments after the message that no `%s` refers to. Plain objects become
 * fields of the line, the first Error becomes `err`, everything else joins the message.
 */
export function toPinoArgs(args: unknown[]): [Record<string, unknown>, string] | [string] {
  const fields: Record<string, unknown> = {};
  const words: string[] = [];
  for (const a of args) {
    if (typeof a === "string") words.push(a);
    else if (a instanceof Error && !("err" in fields)) fields.err = a;
    else if (isPlainObject(a))
      for (const [k, v] of Object.entries(a)) fields[RESERVED.has(k) ? `_${k}` : k] = v;
    else words.push(inspect(a, { breakLength: Infinity, depth: 4 }));
  }
  const msg = words.join(" ");
  if (!msg && fields.err instanceof Error) return [fields, fields.err.message];
  return Object.keys(fields).length ? [fields, msg] : [msg];
}

/** `destination`: where JSON lines go instead of stdout (tests). */
export function loggerOptions(config: Config, destination?: DestinationStream): LoggerConfig {
  const production = config.nodeEnv === "production";
  const options: LoggerOptions = {
    mixin: requestLogFields,
    hooks: {
      logMethod(args, method) {
        method.apply(this, toPinoArgs(args) as Parameters<typeof method>);
      },
    },
    timestamp: stdTimeFunctions.isoTime,
  };
  destination ??= production
    ? undefined
    : require("pino-pretty")({
        sync: true,
        colorize: Boolean(process.stdout.isTTY),
        translateTime: "HH:MM:ss.l",
        ignore: "pid,hostname,nodeID,ns,mod,svc,ver,requestId",
        messageFormat: "{mod}: {msg}{if requestId} [{requestId}]{end}",
      });
  return {
    type: "Pino",
    options: { level: config.logLevel, pino: { options, destination } },
  } as LoggerConfig;
}
