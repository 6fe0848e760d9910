/**
 * What a node measures. The metrics registry is always on, so the business counters (orders,
 * declined payments, deliveries) and, unless METRICS=off, the process and OS gauges are there for
 * a scrape of a fresh install. Moleculer's per-call metrics middleware (a latency histogram with
 * quantiles, gauges and rate meters on every call) runs only with METRICS=full; by default a
 * labelled counter per call stands in for it, under Moleculer's own metric names.
 */
import { METRIC, ServiceBroker, type BrokerOptions, type Middleware } from "moleculer";
import type { Config } from "./config";

export function metricsOptions(config: Config): BrokerOptions["metrics"] {
  return { enabled: true, reporter: [], collectProcessMetrics: config.metrics !== "off" };
}

const LABELS = ["service", "action", "type", "caller"];

type Counter = { increment(labels: Record<string, unknown>): void };

/** Registered once per broker, by the first action wrapped (before the middleware's `created`). */
function counters(broker: ServiceBroker): { total: Counter; errors: Counter } {
  const metrics = broker.metrics;
  if (!metrics.getMetric(METRIC.MOLECULER_REQUEST_TOTAL)) {
    metrics.register({
      name: METRIC.MOLECULER_REQUEST_TOTAL,
      type: METRIC.TYPE_COUNTER,
      labelNames: LABELS,
      unit: METRIC.UNIT_REQUEST,
      description: "Number of requests",
    });
    metrics.register({
      name: METRIC.MOLECULER_REQUEST_ERROR_TOTAL,
      type: METRIC.TYPE_COUNTER,
      labelNames: [...LABELS, "errorName", "errorCode", "errorType"],
      unit: METRIC.UNIT_REQUEST,
      description: "Number of request errors",
    });
  }
  return {
    total: metrics.getMetric(METRIC.MOLECULER_REQUEST_TOTAL) as unknown as Counter,
    errors: metrics.getMetric(METRIC.MOLECULER_REQUEST_ERROR_TOTAL) as unknown as Counter,
  };
}

/** `moleculer.request.total` and `moleculer.request.error.total` per call, without rates or timers. */
function counting(type: "local" | "remote") {
  return function (this: ServiceBroker, next: (ctx: any) => Promise<unknown>, action: any) {
    // A broker whose options switched the registry off (benches, tests) counts nothing.
    if (!this.isMetricsEnabled()) return next;
    const { total, errors } = counters(this);
    const service = action.service?.fullName ?? null;
    return (ctx: any) => {
      const labels = { service, action: action.name, type, caller: ctx.caller };
      total.increment(labels);
      return next(ctx).catch((err: any) => {
        errors.increment({ ...labels, errorName: err?.name, errorCode: err?.code, errorType: err?.type });
        throw err;
      });
    };
  };
}

export const RequestCountMiddleware: Middleware = {
  name: "RequestCount",
  localAction: counting("local"),
  remoteAction: counting("remote"),
};

/**
 * Moleculer's internal middlewares in their usual order (the broker is started with
 * `internalMiddlewares: false`), its Metrics middleware swapped for the request counter unless
 * METRICS=full.
 */
export function internalMiddlewares(config: Config): (string | Middleware)[] {
  const names: string[] = (ServiceBroker as any).INTERNAL_MIDDLEWARES;
  return names.flatMap((name): (string | Middleware)[] => {
    if (name !== "Metrics" || config.metrics === "full") return [name];
    return config.metrics === "basic" ? [RequestCountMiddleware] : [];
  });
}
