/**
 * Preloaded (`node --require`) into a bench node that keeps NeDB's own removal from index
 * buckets (a copy of the bucket per removal) instead of lib/nedb-index.ts's in-place one: the
 * baseline of that change, measured in the same run (bench/RESULTS.md, "NeDB index buckets").
 */
import * as nedbIndex from "../lib/nedb-index";

(nedbIndex as { fastBucketDeletes: () => void }).fastBucketDeletes = () => undefined;
