/**
 * NODE_NICE: the CPU priority of a background node. Publishing to Kafka is asynchronous (no
 * request waits for it), so on a host whose cores it shares with request-serving nodes, a bridge
 * node should take only the CPU they leave: its backlog waits durably in JetStream and drains in
 * bigger, cheaper batches once load drops (bench/RESULTS.md "Checkout"). In containers the same is
 * said with CPU shares or requests (docker-compose.yml, deploy/k8s), since niceness only counts
 * within one cgroup.
 */
import fs from "node:fs";
import os from "node:os";

/**
 * Sets every thread of this process to `nice`. Linux keeps niceness per thread and V8's worker
 * threads already run, so setting only the process (its main thread) would leave GC at 0; threads
 * started later inherit it. Returns the threads that could not be changed (none normally: a
 * process may always lower its own priority).
 */
export function setProcessNice(nice: number): number {
  let tids: number[];
  try {
    tids = fs.readdirSync("/proc/self/task").map(Number);
  } catch {
    tids = [0]; // no /proc (not Linux): the process itself
  }
  let failed = 0;
  for (const tid of tids) {
    try {
      os.setPriority(tid, nice);
    } catch {
      failed++;
    }
  }
  return failed;
}
