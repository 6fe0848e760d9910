/**
 * NeDB keeps, per indexed field, a tree of value → the array of documents holding that value (a
 * bucket). Taking a document out of a bucket (every update or removal of a document, in each of
 * its indexes) builds a new array of all the others, one callback per element: O(bucket), and a
 * fresh array of that size to collect. A field with few values makes buckets as large as the
 * collection: a reservation's `state` ("committed" grows with every order), a stock record's
 * `reserved` (0 for nearly every variant), a product's `category`. On the checkout bench that
 * came to ~0.9 ms of every order, and grew with the orders taken.
 *
 * fastBucketDeletes() takes the document out of its bucket in place (`splice`), looking from the
 * end and stopping at it: a document is in a bucket once (NeDB indexes each of its values once),
 * and a recently written one is near the end. Nothing is allocated, and the others keep their
 * order (DbMixin.latestOf relies on a bucket's write order). Inserting already appends to a
 * bucket in place, and NeDB runs one operation at a time per datastore, so nothing holds a bucket
 * across a change. Removing the last document of a key still goes through NeDB's own code.
 */
import { createRequire } from "node:module";

interface TreeNode {
  key?: unknown;
  data: unknown[];
  left?: TreeNode;
  right?: TreeNode;
  compareKeys(a: unknown, b: unknown): number;
  checkValueEquality(a: unknown, b: unknown): boolean;
  delete(key: unknown, value?: unknown): TreeNode;
}

// The copy of the tree NeDB itself loads (moleculer-db → @seald-io/nedb → binary-search-tree).
const nedbRequire = createRequire(require.resolve("moleculer-db"));
const treeRequire = createRequire(nedbRequire.resolve("@seald-io/nedb"));
const bst = treeRequire("@seald-io/binary-search-tree");

let patched = false;

/** The node of `key` under `root`, as the tree's own search walks to it. */
function nodeOf(root: TreeNode, key: unknown): TreeNode | undefined {
  let at: TreeNode | undefined = root;
  while (at) {
    const c = root.compareKeys(key, at.key);
    if (c === 0) return at;
    at = c < 0 ? at.left : at.right;
  }
  return undefined;
}

/** Idempotent; applies to every NeDB index of the process. */
export function fastBucketDeletes(): void {
  if (patched) return;
  patched = true;
  // NeDB's index is the AVLTree wrapper; the nodes (whose delete does the work) are its `tree`.
  const node = Object.getPrototypeOf(new bst.AVLTree({}).tree) as TreeNode;
  const original = node.delete;
  node.delete = function (this: TreeNode, key: unknown, value?: unknown) {
    if (value === undefined || !Object.prototype.hasOwnProperty.call(this, "key"))
      return original.call(this, key, value);
    const at = nodeOf(this, key);
    // Not there, or the last document of its key (the tree itself changes): NeDB's own path.
    if (!at || at.data.length <= 1) return original.call(this, key, value);
    // From the end: a bucket is in write order, and the document written last is the likeliest
    // to be written again (a checkout's reservation, moments after it was committed).
    const { data } = at;
    for (let i = data.length - 1; i >= 0; i--)
      if (this.checkValueEquality(data[i], value)) {
        data.splice(i, 1);
        break;
      }
    return this;
  };
}
