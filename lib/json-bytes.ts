/**
 * The UTF-8 bytes of cached JSON answers, kept beside the cache: a string sent as a response is
 * measured and encoded again on every request, which for a page of products with variants is a
 * good part of what a cached read costs. The cacher keeps strings (Redis can hold nothing
 * else); each is encoded here once, and again only when the cacher's string for the key changed.
 */
export class JsonBytes {
  private readonly kept = new Map<string, { json: string; bytes: Buffer }>();

  constructor(private readonly max = 200) {}

  of(key: string, json: string): Buffer {
    const hit = this.kept.get(key);
    // The memory cacher hands out the very string stored (a pointer compare); Redis an equal one.
    if (hit && hit.json === json) return hit.bytes;
    if (this.kept.size >= this.max) this.kept.clear();
    const bytes = Buffer.from(json, "utf8");
    this.kept.set(key, { json, bytes });
    return bytes;
  }
}
