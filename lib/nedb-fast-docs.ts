/**
 * NeDB copies a document field by field (`res[k] = ...`) on every insert, update and read. V8
 * turns an object built by such keyed stores into a hash table once it has more than 16 fields,
 * so every stored order (~20 fields) was one: each later read of a field a hash look-up, each
 * copy a hash table built again. fastDocuments() makes NeDB's copies plain objects with a fixed
 * layout instead, built by spreading: a copy takes about half the time, and reading a field of a
 * stored document is a load at a known offset.
 *
 * The copy means what NeDB's does: own enumerable fields, Dates kept, arrays and objects copied
 * deeply, functions and other non-data values dropped to undefined. Copies that filter keys
 * (`strictKeys`, an upsert's query) are still NeDB's own.
 */
import { createRequire } from "node:module";

type Copy = (obj: unknown, strictKeys?: boolean) => unknown;
interface Model {
  deepCopy: Copy;
  modify(obj: unknown, update: unknown): Record<string, unknown>;
}

// The NeDB copy moleculer-db's MemoryAdapter uses.
const nedbRequire = createRequire(require.resolve("moleculer-db"));
const model: Model = nedbRequire("@seald-io/nedb/lib/model.js");

let patched = false;

/** A value NeDB's copy would leave as undefined (it keeps data only). */
const dropped = (v: unknown) => typeof v === "function" || typeof v === "symbol" || typeof v === "bigint";

/** A deep copy of a document's value, objects built by spreading (see above). */
export function copyValue(v: unknown): unknown {
  if (typeof v !== "object") return dropped(v) ? undefined : v;
  if (v === null || v instanceof Date) return v;
  if (Array.isArray(v)) return v.map(copyValue);
  const res: Record<string, unknown> = { ...v };
  // Only overwrites: deleting a field would make the copy a hash table again.
  for (const k in res) {
    const field = res[k];
    if (typeof field === "object" ? field !== null && !(field instanceof Date) : dropped(field))
      res[k] = copyValue(field);
  }
  return res;
}

/** Idempotent; applies to every NeDB datastore of the process. */
export function fastDocuments(): void {
  if (patched) return;
  patched = true;
  const deepCopy = model.deepCopy;
  model.deepCopy = (obj, strictKeys) => (strictKeys ? deepCopy(obj, strictKeys) : copyValue(obj));
  // An update copies the document with NeDB's own copy (inside model.js), then applies its
  // modifiers: the result is spread once more, so the stored version has a fixed layout too.
  const modify = model.modify;
  model.modify = (obj, update) => ({ ...modify(obj, update) });
}
