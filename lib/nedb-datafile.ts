/**
 * NeDB appends every insert, update and removal to its datafile with `fs.promises.appendFile`,
 * which opens and closes the file each time: three trips through the thread pool per write, the
 * largest cost of a busy embedded store (bench/webhooks profile). keepDatafileOpen() makes one
 * datastore append through a file descriptor kept open instead, with one synchronous write (a
 * page-cache write of a few hundred bytes; appendFile did not sync to disk either).
 *
 * NeDB runs one operation at a time per datastore, so writes never interleave; a compaction
 * rewrites the file to a new inode and renames it over the old, so the descriptor is closed before
 * each and opened again on the next append.
 */
import fs from "node:fs";
import { createRequire } from "node:module";

// The NeDB copy moleculer-db's MemoryAdapter uses, for its serializer.
const nedbRequire = createRequire(require.resolve("moleculer-db"));
const model: { serialize(doc: unknown): string } = nedbRequire("@seald-io/nedb/lib/model.js");

interface Persistence {
  inMemoryOnly: boolean;
  filename: string;
  modes: { fileMode: number };
  afterSerialization(s: string): string;
  persistNewStateAsync(docs: unknown[]): Promise<void>;
  persistCachedDatabaseAsync(): Promise<void>;
}

/** Patches `db` (a loaded NeDB Datastore); the returned function closes the descriptor. */
export function keepDatafileOpen(db: { persistence: Persistence }): () => void {
  const p = db.persistence;
  if (p.inMemoryOnly) return () => undefined;
  let fd: number | undefined;
  const close = () => {
    if (fd !== undefined) fs.closeSync(fd);
    fd = undefined;
  };
  const rewrite = p.persistCachedDatabaseAsync.bind(p);
  p.persistCachedDatabaseAsync = async () => {
    close();
    await rewrite();
  };
  p.persistNewStateAsync = async (docs) => {
    let lines = "";
    for (const doc of docs) lines += p.afterSerialization(model.serialize(doc)) + "\n";
    if (!lines) return;
    fd ??= fs.openSync(p.filename, "a", p.modes.fileMode);
    const buf = Buffer.from(lines, "utf8");
    for (let off = 0; off < buf.length;) off += fs.writeSync(fd, buf, off);
  };
  return close;
}
