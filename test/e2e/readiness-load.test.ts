import autocannon from "autocannon";
import { ALL_SERVICES } from "../../lib/config";
import { Cluster, describeE2E, sleep, waitFor } from "../support/cluster";

describeE2E("readiness and load with the routed service on another node", () => {
  let cluster: Cluster;

  beforeAll(async () => {
    // This suite is about discovery, not throttling: lift the per-client limit.
    cluster = new Cluster({ RATE_LIMIT_PER_MINUTE: "10000000" });
    await cluster.add("gateway", ["api"]);
  });
  afterAll(() => cluster?.stopAll());

  it("should stay 503 and name the missing service until the service it routes to is discovered", async () => {
    const res = await waitFor("the gateway to listen", () =>
      fetch(`${cluster.baseUrl}/health/ready`).catch(() => undefined),
    );
    expect(res.status).toBe(503);
    const body: any = await res.json();
    expect(body.checks.services.missing).toContain("tokens");
    expect((await fetch(`${cluster.baseUrl}/health/live`)).status).toBe(200);
  });

  it("should answer 50 connections for 20 s with 0 non-2xx, starting as soon as readiness is 200", async () => {
    await cluster.add(
      "services",
      ALL_SERVICES.filter((s) => s !== "api"),
    );
    await waitFor(
      "readiness 200",
      async () => (await fetch(`${cluster.baseUrl}/health/ready`)).status === 200,
      30_000,
      50,
    );
    const result = await autocannon({
      url: `${cluster.baseUrl}/api/.well-known/jwks.json`,
      connections: 50,
      duration: 20,
    });
    console.log(
      `load: ${result.requests.total} requests, ${result.requests.average} req/s avg, p99 ${result.latency.p99} ms`,
    );
    expect(result.requests.total).toBeGreaterThan(0);
    expect(result.non2xx).toBe(0);
    expect(result.errors).toBe(0);
    expect(result.timeouts).toBe(0);
    await sleep(100);
  }, 60_000);
});
