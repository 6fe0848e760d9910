/**
 * What share of a process's busy time (V8 CPU profiles of its main thread) was spent inside the
 * given functions, callees included: the direct cost of a feature, read from the rounds that ran
 * it, with no second run to compare against (whose spread on this shared machine is ±10 %).
 * A function counts where it is outermost on the stack, so nested ones are not counted twice;
 * an async function's continuations are on the stack under their own name, so they count too.
 * The profiler's own work (frames of `node:inspector`, where stopping a profile shows) is not
 * busy time of the process measured, so it counts on neither side.
 */
import fs from "node:fs";
import path from "node:path";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url?: string };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Busy and inside-`functions` µs over the `.cpuprofile` files of `dir` whose names start with `prefix`. */
export function profileShare(dir: string, prefix: string, functions: readonly string[]) {
  const wanted = new Set(functions);
  let busy = 0;
  let inside = 0;
  for (const file of fs.readdirSync(dir).filter((f) => f.startsWith(prefix) && f.endsWith(".cpuprofile"))) {
    const profile: Profile = JSON.parse(fs.readFileSync(path.join(dir, file), "utf8"));
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const self = new Map<number, number>();
    profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
    const walk = (node: ProfileNode, within: boolean) => {
      const name = node.callFrame.functionName;
      if (node.callFrame.url === "node:inspector") return;
      const us = self.get(node.id) ?? 0;
      if (name !== "(idle)" && name !== "(program)") busy += us;
      const counted = within || wanted.has(name);
      if (counted) inside += us;
      for (const child of node.children ?? []) walk(byId.get(child)!, counted);
    };
    walk(profile.nodes[0], false);
  }
  return { busyUs: busy, insideUs: inside, share: busy ? inside / busy : NaN };
}
