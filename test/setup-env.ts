// Unit and integration tests run on the embedded default with a throwaway data dir.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

process.env.NODE_ENV = "test";
process.env.LOG_LEVEL ??= "warn";
process.env.DATA_DIR = fs.mkdtempSync(path.join(os.tmpdir(), "shop-test-"));
for (const v of [
  "TRANSPORTER",
  "MONGO_URI",
  "KAFKA_BROKERS",
  "REDIS_URL",
  "SMTP_URL",
  "SERVICES",
  "NAMESPACE",
])
  delete process.env[v];
