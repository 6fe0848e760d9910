/**
 * Moleculer's tracing from the configuration: off by default; TRACING_EXPORTER=zipkin or jaeger
 * (Jaeger's Zipkin-compatible collector) posts spans to TRACING_URL, console prints them.
 * A span's trace id is the request id, so one HTTP request is one trace across every node.
 */
import { createHash } from "node:crypto";
import { TracerExporters, type TracerOptions } from "moleculer";
import type { Config } from "./config";

/**
 * Zipkin takes 16 or 32 lower-hex trace ids and rejects the whole batch otherwise. A UUID request
 * id keeps all its 128 bits (Moleculer's exporter keeps 64), so `/api/v2/trace/<uuid without
 * dashes>` finds it; any other X-Request-Id is hashed. The id itself stays in the `requestID` tag.
 */
export function zipkinTraceId(requestId: string): string {
  const hex = requestId.replace(/-/g, "").toLowerCase();
  return /^([0-9a-f]{16}|[0-9a-f]{32})$/.test(hex)
    ? hex
    : createHash("sha256").update(requestId).digest("hex").slice(0, 32);
}

class ZipkinExporter extends TracerExporters.Zipkin {
  override makePayload(span: any) {
    return { ...super.makePayload(span), traceId: zipkinTraceId(span.traceID) };
  }

  /** Sends what is queued before the node goes away. */
  override stop() {
    this.flush();
    return super.stop();
  }
}

export function tracingOptions({ tracing }: Config): TracerOptions {
  if (tracing.exporter === "none") return { enabled: false };
  return {
    enabled: true,
    sampling: { rate: tracing.sampleRate },
    // Params, meta, responses and error data carry passwords and tokens: spans get names, ids,
    // nodes and the request id only.
    tags: { action: { params: false, meta: false }, event: { params: false, meta: false } },
    errorFields: ["name", "message", "code", "type"],
    exporter:
      tracing.exporter === "console"
        ? { type: "Console", options: { logger: console.info, colors: Boolean(process.stdout.isTTY) } }
        : (new ZipkinExporter({ baseURL: tracing.url!.replace(/\/+$/, "") }) as any),
  };
}
