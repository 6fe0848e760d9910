import { createHmac } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { WEBHOOK_TOLERANCE_SECONDS, checkWebhookSignature, signWebhook } from "../../domain/payments";
import { WEBHOOK_SECRET_FILE, generatedWebhookSecret } from "../../lib/generated-secret";

const SECRET = "secret-of-sixteen+";
const BODY = Buffer.from('{"id":"evt_1","type":"charge.refunded","data":{"chargeId":"ch_1"}}');
const NOW = 1_800_000_000;

describe("the simulated provider's webhook signature", () => {
  it("should sign as t=<unix seconds>,v1=<hex HMAC-SHA256 of '<t>.<body>'>", () => {
    const header = signWebhook(SECRET, BODY, NOW);
    const v1 = createHmac("sha256", SECRET).update(`${NOW}.${BODY}`).digest("hex");
    expect(header).toBe(`t=${NOW},v1=${v1}`);
  });

  it("should accept a fresh signature of the exact body", () => {
    expect(checkWebhookSignature(SECRET, BODY, signWebhook(SECRET, BODY, NOW), NOW)).toBe("valid");
  });

  it("should accept a timestamp up to 300 s away in either direction", () => {
    for (const t of [NOW - WEBHOOK_TOLERANCE_SECONDS, NOW + WEBHOOK_TOLERANCE_SECONDS])
      expect(checkWebhookSignature(SECRET, BODY, signWebhook(SECRET, BODY, t), NOW)).toBe("valid");
  });

  it("should refuse a timestamp 301 s old or 301 s ahead as stale", () => {
    for (const t of [NOW - 301, NOW + 301])
      expect(checkWebhookSignature(SECRET, BODY, signWebhook(SECRET, BODY, t), NOW)).toBe("stale");
  });

  it("should refuse a signature made with another secret, of another body or of another timestamp", () => {
    const v1Of = (header: string) => header.split("v1=")[1];
    expect(checkWebhookSignature(SECRET, BODY, signWebhook("another-secret-16", BODY, NOW), NOW)).toBe(
      "mismatch",
    );
    expect(
      checkWebhookSignature(
        SECRET,
        Buffer.concat([BODY, Buffer.from(" ")]),
        signWebhook(SECRET, BODY, NOW),
        NOW,
      ),
    ).toBe("mismatch");
    const moved = `t=${NOW - 1},v1=${v1Of(signWebhook(SECRET, BODY, NOW))}`;
    expect(checkWebhookSignature(SECRET, BODY, moved, NOW)).toBe("mismatch");
  });

  it("should refuse the earlier format (a bare HMAC of the body) and headers without t or v1", () => {
    const bare = signWebhook(SECRET, BODY, NOW).split("v1=")[1];
    for (const header of [
      undefined,
      "",
      "abc",
      bare,
      `sha256=${bare}`,
      `v1=${bare}`,
      `t=${NOW}`,
      `t=soon,v1=${bare}`,
    ])
      expect(checkWebhookSignature(SECRET, BODY, header, NOW)).toBe("malformed");
  });
});

describe("the generated development webhook secret", () => {
  const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "webhook-secret-"));

  it("should differ between two DATA_DIRs", () => {
    const a = generatedWebhookSecret(tmp());
    const b = generatedWebhookSecret(tmp());
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(b).not.toBe(a);
  });

  it("should be written to DATA_DIR readable by its owner only and read back on the next start", () => {
    const dir = tmp();
    const first = generatedWebhookSecret(dir);
    const file = path.join(dir, WEBHOOK_SECRET_FILE);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(generatedWebhookSecret(dir)).toBe(first);
  });
});
