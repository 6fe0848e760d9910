/**
 * Which backend runs on a data directory. An embedded node (no transporter) writes
 * `DATA_DIR/backend.json` with its pid and HTTP port while it runs, so a tool started beside it
 * (`npm run seed`) goes through its API instead of writing the same NeDB files behind its back:
 * two writers on one NeDB file can lose data, and the running node's caches would not know.
 * A file whose pid no longer runs (the node was killed) is stale and ignored.
 */
import fs from "node:fs";
import path from "node:path";

export interface RunningBackend {
  pid: number;
  /** The gateway's HTTP port, or null when the node runs no `api`. */
  port: number | null;
}

const fileOf = (dataDir: string) => path.join(dataDir, "backend.json");

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err: any) {
    return err?.code === "EPERM";
  }
}

/** Records this process as the data directory's backend; the returned function takes it back. */
export function announceBackend(dataDir: string, port: number | null): () => void {
  fs.mkdirSync(dataDir, { recursive: true });
  const file = fileOf(dataDir);
  fs.writeFileSync(file, JSON.stringify({ pid: process.pid, port } satisfies RunningBackend));
  return () => {
    if (readInfo(dataDir)?.pid === process.pid) fs.rmSync(file, { force: true });
  };
}

function readInfo(dataDir: string): RunningBackend | null {
  try {
    return JSON.parse(fs.readFileSync(fileOf(dataDir), "utf8"));
  } catch {
    return null;
  }
}

/** The live backend of a data directory, or null when none runs there. */
export function runningBackend(dataDir: string): RunningBackend | null {
  const info = readInfo(dataDir);
  return info && Number.isInteger(info.pid) && info.pid !== process.pid && alive(info.pid) ? info : null;
}
