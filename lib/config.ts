/**
 * The one place where settings are read from the environment. Every value is validated at
 * start; a bad one stops the start with a message naming the variable.
 */
import path from "node:path";

/** Every service of the codebase, one file each under services/. */
export const ALL_SERVICES = [
  "api",
  "tokens",
  "kafka-bridge",
  "users",
  "products",
  "inventory",
  "carts",
  "orders",
  "payments",
  "notifications",
  "pricing",
  "recommendations",
  "webhooks",
] as const;
export type ServiceName = (typeof ALL_SERVICES)[number];

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`Invalid configuration: ${variable} ${problem}`);
    this.name = "ConfigError";
  }
}

type Env = Record<string, string | undefined>;

function str(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === "" ? undefined : v.trim();
}

function int(env: Env, name: string, def: number, min: number, max: number): number {
  const raw = str(env, name);
  if (raw === undefined) return def;
  if (!/^-?\d+$/.test(raw)) throw new ConfigError(name, `must be an integer, got "${raw}"`);
  const n = Number(raw);
  if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${n}`);
  return n;
}

function bool(env: Env, name: string, def: boolean): boolean {
  const raw = str(env, name);
  if (raw === undefined) return def;
  if (["1", "true", "yes"].includes(raw.toLowerCase())) return true;
  if (["0", "false", "no"].includes(raw.toLowerCase())) return false;
  throw new ConfigError(name, `must be 1/0 or true/false, got "${raw}"`);
}

function url(env: Env, name: string, protocols: string[]): string | undefined {
  const raw = str(env, name);
  if (raw === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(name, `must be a URL (${protocols.join(", ")}), got "${raw}"`);
  }
  if (!protocols.includes(parsed.protocol.replace(/:$/, "")))
    throw new ConfigError(name, `must use ${protocols.map((p) => p + "://").join(" or ")}, got "${raw}"`);
  return raw;
}

function hostPorts(env: Env, name: string): string[] | undefined {
  const raw = str(env, name);
  if (raw === undefined) return undefined;
  const list = raw.split(",").map((s) => s.trim());
  for (const hp of list)
    if (!/^[\w.-]+:\d{1,5}$/.test(hp))
      throw new ConfigError(name, `must be a comma list of host:port, got "${raw}"`);
  return list;
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], def: T): T {
  const raw = str(env, name);
  if (raw === undefined) return def;
  if (!allowed.includes(raw as T))
    throw new ConfigError(name, `must be one of ${allowed.join(", ")}, got "${raw}"`);
  return raw as T;
}

function services(env: Env): ServiceName[] {
  const raw = str(env, "SERVICES");
  if (raw === undefined || raw === "all") return [...ALL_SERVICES];
  const list = raw
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  for (const s of list)
    if (!ALL_SERVICES.includes(s as ServiceName))
      throw new ConfigError(
        "SERVICES",
        `names an unknown service "${s}" (known: ${ALL_SERVICES.join(", ")})`,
      );
  return list as ServiceName[];
}

/** KAFKA_INBOUND="topic:channel,topic2:channel2": external topics fed into durable channels. */
function kafkaInbound(env: Env): { topic: string; channel: string }[] {
  const raw = str(env, "KAFKA_INBOUND");
  if (raw === undefined) return [];
  return raw.split(",").map((pair) => {
    const m = /^\s*([\w.-]+):([\w.-]+)\s*$/.exec(pair);
    if (!m) throw new ConfigError("KAFKA_INBOUND", `must be a comma list of topic:channel, got "${raw}"`);
    return { topic: m[1], channel: m[2] };
  });
}

/** A fraction between 0 and 1, e.g. a sampling rate. */
function fraction(env: Env, name: string, def: number): number {
  const raw = str(env, name);
  if (raw === undefined) return def;
  const n = Number(raw);
  if (!/^\d*\.?\d+$/.test(raw) || n > 1)
    throw new ConfigError(name, `must be a number from 0 to 1, got "${raw}"`);
  return n;
}

/** TRACING_EXPORTER / TRACING_URL / TRACING_SAMPLE_RATE: Moleculer's tracing, off unless named. */
function tracing(env: Env) {
  const exporter = oneOf(env, "TRACING_EXPORTER", ["none", "zipkin", "jaeger", "console"], "none");
  const tracingUrl = url(env, "TRACING_URL", ["http", "https"]);
  const sampleRate = fraction(env, "TRACING_SAMPLE_RATE", 1);
  const remote = exporter === "zipkin" || exporter === "jaeger";
  if (remote && !tracingUrl)
    throw new ConfigError(
      "TRACING_URL",
      `is required with TRACING_EXPORTER=${exporter} (e.g. http://host:9411)`,
    );
  return { exporter, url: tracingUrl, sampleRate };
}

/**
 * METRICS: what each node collects besides the business counters (always on). `basic` (default):
 * process and OS gauges and a request counter per action; `full` (or 1): Moleculer's whole set,
 * latency histograms included, which costs a few µs per call (bench/RESULTS.md); `off` (or 0):
 * the business counters only.
 */
function metricsMode(env: Env): "off" | "basic" | "full" {
  const raw = str(env, "METRICS")?.toLowerCase();
  if (raw === "1" || raw === "true") return "full";
  if (raw === "0" || raw === "false") return "off";
  return oneOf({ METRICS: raw }, "METRICS", ["off", "basic", "full"] as const, "basic");
}

/** A PEM key given inline, with literal "\n" allowed so it fits in one env line. */
function pem(env: Env, name: string): string | undefined {
  const raw = str(env, name);
  if (raw === undefined) return undefined;
  const key = raw.replace(/\\n/g, "\n");
  if (!key.includes("-----BEGIN")) throw new ConfigError(name, "must be a PEM-encoded key");
  return key;
}

/** CORS_ORIGINS: a comma list of origins (`https://shop.example`), or `*`; unset allows none. */
function corsOrigins(env: Env): string[] {
  const raw = str(env, "CORS_ORIGINS");
  if (raw === undefined) return [];
  const origins = raw
    .split(",")
    .map((o) => o.trim())
    .filter(Boolean);
  for (const origin of origins) {
    if (origin === "*") continue;
    let parsed: URL | undefined;
    try {
      parsed = new URL(origin);
    } catch {
      parsed = undefined;
    }
    if (!parsed || !["http:", "https:"].includes(parsed.protocol) || parsed.origin !== origin)
      throw new ConfigError(
        "CORS_ORIGINS",
        `must list origins such as https://shop.example, got "${origin}"`,
      );
  }
  return origins;
}

export function loadConfig(env: Env = process.env) {
  const nodeEnv = oneOf(env, "NODE_ENV", ["development", "production", "test"], "development");
  const config = {
    nodeEnv,
    nodeID: str(env, "NODE_ID"),
    namespace: str(env, "NAMESPACE") ?? "",
    port: int(env, "PORT", 3000, 0, 65535),
    transporter: url(env, "TRANSPORTER", ["nats"]),
    services: services(env),
    mongoUri: url(env, "MONGO_URI", ["mongodb", "mongodb+srv"]),
    dataDir: path.resolve(str(env, "DATA_DIR") ?? "./data"),
    kafkaBrokers: hostPorts(env, "KAFKA_BROKERS"),
    redisUrl: url(env, "REDIS_URL", ["redis", "rediss"]),
    /** Entries the in-memory cacher keeps (least recently used evicted first); Redis has its own limits. */
    cacheMaxEntries: int(env, "CACHE_MAX_ENTRIES", 10_000, 1, 10_000_000),
    smtpUrl: url(env, "SMTP_URL", ["smtp", "smtps"]),
    twilio: {
      accountSid: str(env, "TWILIO_ACCOUNT_SID"),
      authToken: str(env, "TWILIO_AUTH_TOKEN"),
      from: str(env, "TWILIO_FROM"),
      apiBase: url(env, "TWILIO_API_BASE", ["http", "https"]),
    },
    jwt: {
      privateKey: pem(env, "JWT_PRIVATE_KEY"),
      publicKey: pem(env, "JWT_PUBLIC_KEY"),
      accessTokenTtl: int(env, "ACCESS_TOKEN_TTL", 900, 10, 86400),
      issuer: str(env, "JWT_ISSUER") ?? "moleculer-shop",
      audience: str(env, "JWT_AUDIENCE") ?? "moleculer-shop-api",
    },
    admin: { email: str(env, "ADMIN_EMAIL"), password: str(env, "ADMIN_PASSWORD") },
    rateLimitPerMinute: int(env, "RATE_LIMIT_PER_MINUTE", 600, 1, 10_000_000),
    authRateLimitPerMinute: int(env, "AUTH_RATE_LIMIT_PER_MINUTE", 20, 1, 10_000_000),
    loginMaxFailures: int(env, "LOGIN_MAX_FAILURES", 10, 1, 1_000_000),
    trustProxy: bool(env, "TRUST_PROXY", false),
    requestTimeoutMs: int(env, "REQUEST_TIMEOUT_MS", 10_000, 100, 600_000),
    logLevel: oneOf(env, "LOG_LEVEL", ["fatal", "error", "warn", "info", "debug", "trace"], "info"),
    metrics: metricsMode(env),
    /** When set, GET /metrics requires it as a bearer token. */
    metricsToken: str(env, "METRICS_TOKEN"),
    /** Origins whose browsers may call the API (services/api/http-guard.ts). */
    corsOrigins: corsOrigins(env),
    tracing: tracing(env),
    notifyMaxAttempts: int(env, "NOTIFY_MAX_ATTEMPTS", 6, 1, 100),
    notifyBackoffMs: int(env, "NOTIFY_BACKOFF_MS", 1000, 1, 600_000),
    /** How long a notifications worker owns a delivery unless it renews (it does, while working). */
    notifyLeaseMs: int(env, "NOTIFY_LEASE_MS", 10_000, 100, 600_000),
    reservationTtlSeconds: int(env, "RESERVATION_TTL_SECONDS", 900, 1, 7 * 86400),
    lowStockThreshold: int(env, "LOW_STOCK_THRESHOLD", 5, 0, 1_000_000_000),
    /** How often every node re-publishes outbox events left unsent (mixins/outbox.mixin.ts). */
    outboxSweepMs: int(env, "OUTBOX_SWEEP_MS", 5000, 10, 3_600_000),
    guestCarts: {
      /** A guest cart unused this long is gone (its token answers 401). */
      ttlDays: int(env, "GUEST_CART_TTL_DAYS", 30, 1, 3650),
      /** New guest carts per client and minute (POST /api/carts), on top of RATE_LIMIT_PER_MINUTE. */
      createPerMinute: int(env, "GUEST_CART_RATE_LIMIT_PER_MINUTE", 30, 1, 10_000_000),
    },
    checkout: {
      /** How long a checkout driver owns an order before another node may take it over. */
      leaseSeconds: int(env, "CHECKOUT_LEASE_SECONDS", 30, 1, 3600),
      /** Unset outside production: the payments service generates one into DATA_DIR. */
      paymentWebhookSecret: str(env, "PAYMENT_WEBHOOK_SECRET"),
    },
    payments: {
      /** Who charges cards: the built-in simulated provider, or Stripe (official SDK). */
      provider: oneOf(env, "PAYMENT_PROVIDER", ["simulated", "stripe"] as const, "simulated"),
      stripe: {
        secretKey: str(env, "STRIPE_SECRET_KEY"),
        webhookSecret: str(env, "STRIPE_WEBHOOK_SECRET"),
        /** A local server in place of api.stripe.com (stripe-mock, a test stub). */
        apiBase: url(env, "STRIPE_API_BASE", ["http", "https"]),
      },
    },
    /**
     * Test-only fault hook (test/support/fault-middleware.ts): the node SIGKILLs itself as soon as
     * a call it made to this action (e.g. inventory.reserve) has returned.
     */
    faultCrashAfter: str(env, "FAULT_CRASH_AFTER"),
    risk: {
      /** Orders at or above this risk level wait on_hold for a review; unset: none is held. */
      holdLevel:
        str(env, "RISK_HOLD_LEVEL") === undefined
          ? undefined
          : oneOf(env, "RISK_HOLD_LEVEL", ["elevated", "high"], "high"),
      /** The weights file; unset: models/risk-model.v1.json of this install. */
      modelFile: str(env, "RISK_MODEL_FILE"),
    },
    webhooks: {
      /** Test and local use only (refused in production): plain http:// endpoints. */
      allowHttp: bool(env, "WEBHOOK_ALLOW_HTTP", false),
      /** Test and local use only (refused in production): private, loopback, link-local hosts. */
      allowPrivate: bool(env, "WEBHOOK_ALLOW_PRIVATE", false),
      /** A delivery not answered 2xx within this is an attempt failed. */
      timeoutMs: int(env, "WEBHOOK_TIMEOUT_MS", 10_000, 100, 120_000),
      /** The first retry's delay; each next one doubles (with jitter). */
      backoffMs: int(env, "WEBHOOK_BACKOFF_MS", 1000, 1, 600_000),
      /** Requests in flight to one endpoint, per node, at most (domain/webhooks.ts `nextWindow`). */
      perEndpoint: int(env, "WEBHOOK_CONCURRENCY", 16, 1, 100),
      /** Requests in flight to all endpoints together, per node. */
      maxInFlight: int(env, "WEBHOOK_MAX_IN_FLIGHT", 64, 1, 10_000),
    },
    kafka: {
      batchSize: int(env, "KAFKA_BATCH_SIZE", 100, 1, 100_000),
      /**
       * At most one Kafka request per this period (lib/kafka-batcher.ts): at a checkout-like
       * stream a request then carries several records, which cut the bridge's, NATS's and Kafka's
       * CPU per record ~2x here (bench/bridge-cost); a record after a quiet period goes at once.
       */
      lingerMs: int(env, "KAFKA_LINGER_MS", 50, 0, 60_000),
      topicPartitions: int(env, "KAFKA_TOPIC_PARTITIONS", 3, 1, 10_000),
      replicationFactor: int(env, "KAFKA_REPLICATION_FACTOR", 1, 1, 100),
      inbound: kafkaInbound(env),
    },
  };
  if (config.admin.email && !config.admin.password)
    throw new ConfigError("ADMIN_PASSWORD", "must be set when ADMIN_EMAIL is set");
  if (Boolean(config.jwt.privateKey) !== Boolean(config.jwt.publicKey))
    throw new ConfigError(
      config.jwt.privateKey ? "JWT_PUBLIC_KEY" : "JWT_PRIVATE_KEY",
      "must be set together with its pair",
    );
  if (nodeEnv === "production" && !config.jwt.privateKey)
    throw new ConfigError("JWT_PRIVATE_KEY", "is required when NODE_ENV=production");
  const webhookSecret = str(env, "PAYMENT_WEBHOOK_SECRET");
  if (webhookSecret !== undefined && webhookSecret.length < 16)
    throw new ConfigError("PAYMENT_WEBHOOK_SECRET", "must be at least 16 characters");
  if (nodeEnv === "production" && webhookSecret === undefined)
    throw new ConfigError("PAYMENT_WEBHOOK_SECRET", "is required when NODE_ENV=production");
  if (config.payments.provider === "stripe")
    for (const [name, value] of [
      ["STRIPE_SECRET_KEY", config.payments.stripe.secretKey],
      ["STRIPE_WEBHOOK_SECRET", config.payments.stripe.webhookSecret],
    ] as const)
      if (!value) throw new ConfigError(name, "is required when PAYMENT_PROVIDER=stripe");
  for (const [name, on] of [
    ["WEBHOOK_ALLOW_HTTP", config.webhooks.allowHttp],
    ["WEBHOOK_ALLOW_PRIVATE", config.webhooks.allowPrivate],
  ] as const)
    if (on && nodeEnv === "production")
      throw new ConfigError(name, "is for tests and local use only: not allowed when NODE_ENV=production");
  if (config.faultCrashAfter && nodeEnv !== "test")
    throw new ConfigError("FAULT_CRASH_AFTER", "is a test-only fault hook: set only with NODE_ENV=test");
  return config;
}

export type Config = ReturnType<typeof loadConfig>;

let cached: Config | undefined;
/** The process-wide configuration, validated once. */
export function config(): Config {
  return (cached ??= loadConfig());
}

/** Re-reads the environment (tests change it between brokers). */
export function reloadConfig(env: Env = process.env): Config {
  return (cached = loadConfig(env));
}
