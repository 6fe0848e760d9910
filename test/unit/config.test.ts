import { ALL_SERVICES, ConfigError, loadConfig } from "../../lib/config";

describe("configuration from the environment", () => {
  it("should use the embedded defaults when nothing is set", () => {
    const c = loadConfig({});
    expect(c.port).toBe(3000);
    expect(c.transporter).toBeUndefined();
    expect(c.mongoUri).toBeUndefined();
    expect(c.services).toEqual([...ALL_SERVICES]);
    expect(c.rateLimitPerMinute).toBe(600);
    expect(c.authRateLimitPerMinute).toBe(20);
    expect(c.loginMaxFailures).toBe(10);
  });

  it.each([
    ["PORT", "abc"],
    ["PORT", "70000"],
    ["TRANSPORTER", "tcp://127.0.0.1:4222"],
    ["MONGO_URI", "postgres://x"],
    ["KAFKA_BROKERS", "localhost"],
    ["REDIS_URL", "not a url"],
    ["SERVICES", "api,nope"],
    ["RATE_LIMIT_PER_MINUTE", "-1"],
    ["TRUST_PROXY", "maybe"],
    ["NODE_ENV", "staging"],
    ["TRACING_EXPORTER", "otlp"],
    ["TRACING_URL", "udp://127.0.0.1:6831"],
    ["TRACING_SAMPLE_RATE", "1.5"],
    ["TRACING_SAMPLE_RATE", "half"],
  ])("should refuse %s=%s with a message naming the variable", (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`\\b${name}\\b`));
  });

  it("should refuse to start in production without JWT keys", () => {
    expect(() => loadConfig({ NODE_ENV: "production" })).toThrow(/JWT_PRIVATE_KEY/);
  });

  it("should leave tracing off unless TRACING_EXPORTER names an exporter", () => {
    expect(loadConfig({}).tracing).toEqual({ exporter: "none", url: undefined, sampleRate: 1 });
    expect(loadConfig({ TRACING_EXPORTER: "console", TRACING_SAMPLE_RATE: "0.25" }).tracing).toEqual({
      exporter: "console",
      url: undefined,
      sampleRate: 0.25,
    });
  });

  it.each(["zipkin", "jaeger"])("should require TRACING_URL with TRACING_EXPORTER=%s", (exporter) => {
    expect(() => loadConfig({ TRACING_EXPORTER: exporter })).toThrow(/TRACING_URL is required/);
    expect(loadConfig({ TRACING_EXPORTER: exporter, TRACING_URL: "http://zipkin:9411" }).tracing).toEqual({
      exporter,
      url: "http://zipkin:9411",
      sampleRate: 1,
    });
  });

  it("should read a comma list of services for one node", () => {
    expect(loadConfig({ SERVICES: "api, tokens" }).services).toEqual(["api", "tokens"]);
  });
});
