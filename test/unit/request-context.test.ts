import { Writable } from "node:stream";
import { Middleware as ChannelsMiddleware } from "@moleculer/channels";
import { ServiceBroker, type Context } from "moleculer";
import { loadConfig } from "../../lib/config";
import { loggerOptions } from "../../lib/logger";
import { RequestContextMiddleware } from "../../lib/request-context";
import { zipkinTraceId } from "../../lib/tracing";
import { waitFor } from "../support/cluster";

/** The JSON lines a broker logs through the production logger. */
function jsonLines() {
  const lines: any[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split("\n")) if (l) lines.push(JSON.parse(l));
      done();
    },
  });
  return { lines, stream };
}

describe("request ids in log lines", () => {
  const { lines, stream } = jsonLines();
  const consumed: string[] = [];
  let broker: ServiceBroker;

  beforeAll(async () => {
    const config = loadConfig({ NODE_ENV: "test", LOG_LEVEL: "info" });
    broker = new ServiceBroker({
      nodeID: "unit",
      logger: loggerOptions({ ...config, nodeEnv: "production" }, stream as any),
      middlewares: [
        RequestContextMiddleware,
        ChannelsMiddleware({ adapter: { type: "Fake", options: {} }, context: true } as any),
      ],
    });
    broker.createService({
      name: "front",
      actions: {
        async go(this: any, ctx: Context) {
          this.logger.info("front handles it");
          await ctx.call("back.work");
          // Without ctx: the request id goes on all the same.
          await this.broker.call("back.work");
          await (this.broker as any).sendToChannel("work.done", { ok: true });
          this.logger.info("Request failed", { url: "/x", err: new Error("boom"), level: "x" });
          return "ok";
        },
      },
    });
    broker.createService({
      name: "back",
      actions: {
        work(this: any, ctx: Context) {
          this.logger.info("back works", ctx.requestID);
        },
      },
      channels: {
        "work.done": {
          handler(this: any, ctx: Context) {
            this.logger.info("channel consumer");
            consumed.push(ctx.requestID!);
          },
        },
      } as any,
    } as any);
    await broker.start();
  });

  afterAll(() => broker.stop());

  it("should stamp every line written by actions and channel handlers with the request id", async () => {
    lines.length = 0;
    await broker.call("front.go", {}, { requestID: "req-42" });
    await waitFor("the channel message", async () => consumed.length > 0, 5000, 10);
    broker.logger.info("outside any request");
    const byMsg = (m: string) => lines.filter((l) => l.msg.startsWith(m));
    expect(byMsg("front handles it").map((l) => l.requestId)).toEqual(["req-42"]);
    expect(byMsg("back works").map((l) => [l.requestId, l.msg])).toEqual([
      ["req-42", "back works req-42"],
      ["req-42", "back works req-42"],
    ]);
    expect(byMsg("channel consumer").map((l) => l.requestId)).toEqual(["req-42"]);
    expect(consumed).toEqual(["req-42"]);
    expect(byMsg("outside any request")[0].requestId).toBeUndefined();
  });

  it("should keep the fields and the error of console-style log calls", () => {
    const line = lines.find((l) => l.msg === "Request failed");
    expect(line).toMatchObject({ url: "/x", err: { message: "boom", type: "Error" }, requestId: "req-42" });
    expect([line.level, line._level]).toEqual([30, "x"]); // pino's own keys are not overwritten
    expect(line.time).toMatch(/^\d{4}-\d\d-\d\dT/);
  });
});

describe("Zipkin trace ids", () => {
  it("should keep a UUID request id whole and hash any other into 32 hex digits", () => {
    expect(zipkinTraceId("1D7C3A52-0B64-4E3A-9F07-3F4C2A1B5E6D")).toBe("1d7c3a520b644e3a9f073f4c2a1b5e6d");
    expect(zipkinTraceId("order-7")).toMatch(/^[0-9a-f]{32}$/);
    expect(zipkinTraceId("order-7")).toBe(zipkinTraceId("order-7"));
    expect(zipkinTraceId("order-7")).not.toBe(zipkinTraceId("order-8"));
  });
});
