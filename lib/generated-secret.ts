/**
 * Secrets a development install generates into DATA_DIR on its first start (the JWT signing key,
 * the simulated provider's webhook secret), so no two installs share a public default.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";

/**
 * Reads `DATA_DIR/<fileName>`, or generates it. Several nodes may share DATA_DIR and start at
 * once: the value is written to a temporary file and then hard-linked into place, which fails
 * with EEXIST for every node but one and never exposes a half-written file.
 */
export function readOrGenerate(dataDir: string, fileName: string, generate: () => string): string {
  const file = path.join(dataDir, fileName);
  try {
    return fs.readFileSync(file, "utf8");
  } catch (err: any) {
    if (err.code !== "ENOENT") throw err;
  }
  fs.mkdirSync(dataDir, { recursive: true });
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  fs.writeFileSync(tmp, generate(), { mode: 0o600, flag: "wx" });
  try {
    fs.linkSync(tmp, file);
  } catch (err: any) {
    if (err.code !== "EEXIST") throw err;
  } finally {
    fs.unlinkSync(tmp);
  }
  return fs.readFileSync(file, "utf8");
}

export const WEBHOOK_SECRET_FILE = "payment-webhook-secret";

/** The simulated provider's webhook secret of this install: 32 random bytes, hex. */
export function generatedWebhookSecret(dataDir: string): string {
  return readOrGenerate(dataDir, WEBHOOK_SECRET_FILE, () => randomBytes(32).toString("hex")).trim();
}
