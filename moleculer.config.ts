/**
 * Broker options, built from the validated configuration: the same code runs as one embedded
 * process (no transporter, in-process channels) or as any number of nodes over NATS.
 */
import os from "node:os";
import type { BrokerOptions } from "moleculer";
import { Middleware as ChannelsMiddleware } from "@moleculer/channels";
import type { Config } from "./lib/config";
import { JetStreamAdapter } from "./lib/channels";
import { loggerOptions } from "./lib/logger";
import { BoundedMemoryCacher } from "./lib/lru-cacher";
import { internalMiddlewares, metricsOptions } from "./lib/metrics";
import { RequestContextMiddleware } from "./lib/request-context";
import { tracingOptions } from "./lib/tracing";
import { ParamsValidator } from "./lib/validator";

/** Timeouts and connection loss are worth a retry on another node; business errors are not. */
function isRetryable(err: any): boolean {
  return Boolean(err && err.retryable);
}

export function brokerOptions(config: Config, overrides: Partial<BrokerOptions> = {}): BrokerOptions {
  const nats = config.transporter;
  return {
    namespace: config.namespace,
    nodeID: config.nodeID ?? `${os.hostname()}-${process.pid}`,
    transporter: nats ? { type: "NATS", options: { url: nats, maxReconnectAttempts: -1 } } : undefined,
    // Short heartbeats so a killed node leaves the registry within seconds.
    heartbeatInterval: 2,
    heartbeatTimeout: 6,
    requestTimeout: config.requestTimeoutMs,
    retryPolicy: { enabled: true, retries: 5, delay: 100, maxDelay: 1000, factor: 2, check: isRetryable },
    // Endpoints that keep timing out are skipped until they answer again.
    circuitBreaker: {
      enabled: true,
      threshold: 0.5,
      minRequestCount: 3,
      windowTime: 10,
      halfOpenTime: 5000,
      check: (err: any) => err && (err.code >= 500 || err.name === "RequestTimeoutError"),
    },
    registry: { strategy: "RoundRobin", preferLocal: true },
    // broker.stop() waits for in-flight contexts (a list push/splice per request) before the
    // services stop and the transporter disconnects; bin/node.ts exits by 9 s regardless.
    tracking: { enabled: true, shutdownTimeout: 8000 },
    cacher: config.redisUrl
      ? { type: "Redis", options: { redis: config.redisUrl as any, ttl: 300 } }
      : new BoundedMemoryCacher({ ttl: 300, max: config.cacheMaxEntries }),
    serializer: "JSON",
    // null only where a rule says nullable; lengths in characters (see lib/validator.ts).
    validator: new ParamsValidator(),
    logger: loggerOptions(config),
    metrics: metricsOptions(config),
    // Listed at the end of `middlewares`: Moleculer's own, per-call metrics as METRICS says.
    internalMiddlewares: false,
    // bin/node.ts handles SIGTERM/SIGINT itself (one orderly stop, then exit).
    skipProcessEventRegistration: true,
    tracing: tracingOptions(config),
    middlewares: [
      RequestContextMiddleware,
      ChannelsMiddleware({
        adapter: nats
          ? new JetStreamAdapter({
              nats: {
                url: nats,
                connectionOptions: { maxReconnectAttempts: -1 },
                // A group's first subscription starts at the stream's first message (the library's
                // default, "new", made a service deployed later skip every earlier event). An
                // existing durable keeps its own position: the client attaches to it as it is.
                consumerOptions: { config: { deliver_policy: "all" } },
              },
              maxRetries: 5,
              deadLettering: { enabled: true, queueName: "DEAD_LETTER" },
            })
          : { type: "Fake", options: {} as any },
        context: true,
      } as any),
      ...internalMiddlewares(config),
    ],
    ...overrides,
  };
}
