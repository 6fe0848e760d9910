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
  ])("should refuse %s=%s with a message naming the variable", (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`\\b${name}\\b`));
  });

  it("should refuse to start in production without JWT keys", () => {
    expect(() => loadConfig({ NODE_ENV: "production" })).toThrow(/JWT_PRIVATE_KEY/);
  });

  it("should read a comma list of services for one node", () => {
    expect(loadConfig({ SERVICES: "api, tokens" }).services).toEqual(["api", "tokens"]);
  });
});
