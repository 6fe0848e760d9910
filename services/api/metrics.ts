/** GET /metrics: the Prometheus text of every node, and the bearer token that may guard it. */
import { createHash, timingSafeEqual } from "node:crypto";
import { MetricReporters } from "moleculer";

export const PROMETHEUS_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** One node's answer to `$node.metrics`, or why it gave none. */
export interface NodeMetrics {
  nodeID: string;
  metrics: { name: string; values: { labels?: Record<string, unknown> }[] }[];
  error?: string;
}

/**
 * Prometheus text of the metrics of every node, each series labelled with its nodeID. A metric
 * is one block (HELP/TYPE once) whatever the number of nodes it comes from; the text itself is
 * Moleculer's Prometheus reporter's, run over these snapshots without starting its server.
 */
export function renderPrometheus(namespace: string, nodes: NodeMetrics[]): string {
  const merged = new Map<string, { values: unknown[] } & Record<string, unknown>>();
  for (const { nodeID, metrics } of nodes)
    for (const m of metrics) {
      const values = m.values.map((v) => ({ ...v, labels: { nodeID, ...v.labels } }));
      const cur = merged.get(m.name);
      if (cur) cur.values.push(...values);
      else merged.set(m.name, { ...m, values });
    }
  const reporter: any = new MetricReporters.Prometheus({});
  reporter.defaultLabels = { namespace };
  reporter.registry = { store: [...merged.values()].map((m) => ({ ...m, snapshot: () => m.values })) };
  const missing = nodes.filter((n) => n.error).map((n) => `# nodeID=${n.nodeID}: no metrics (${n.error})\n`);
  return missing.join("") + reporter.generatePrometheusResponse() + "\n";
}

const digest = (s: string) => createHash("sha256").update(s).digest();

/**
 * Whether an Authorization header carries `Bearer <token>`. Compared as SHA-256 digests in
 * constant time, so neither the token's bytes nor its length leak through timing.
 */
export function bearerMatches(token: string, authorization: unknown): boolean {
  if (typeof authorization !== "string") return false;
  const m = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization);
  return timingSafeEqual(digest(m?.[1] ?? ""), digest(token)) && m !== null;
}
