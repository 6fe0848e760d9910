/**
 * lib/kafka.ts's fix of kafkajs's request queue: no timer is left armed once nothing is pending
 * (stock kafkajs 2.2.4 re-arms a 1 ms timer forever), and throttled requests still go out.
 */
import "../../lib/kafka";

const RequestQueue = require("kafkajs/src/network/requestQueue");

const quiet = { debug() {}, warn() {}, error() {}, info() {} };

function queue() {
  return new RequestQueue({
    maxInFlightRequests: 1,
    requestTimeout: 30_000,
    enforceRequestTimeout: false,
    clientId: "test",
    broker: "127.0.0.1:9092",
    logger: quiet,
  });
}

/** A request as kafkajs's connection pushes it; `sent` lists correlation ids in sending order. */
function request(correlationId: number, sent: number[], done: number[]) {
  return {
    entry: {
      correlationId,
      apiKey: 0,
      apiName: "Produce",
      apiVersion: 7,
      resolve: () => done.push(correlationId),
      reject() {},
    },
    expectResponse: true,
    sendRequest: () => sent.push(correlationId),
  };
}

beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

/** Lets any timer that is due run, then counts those still armed (stock kafkajs: one, forever). */
function timersLeft() {
  jest.advanceTimersByTime(100);
  return jest.getTimerCount();
}

test("once every request is answered, no timer is left armed", () => {
  const q = queue();
  const sent: number[] = [];
  const done: number[] = [];
  q.push(request(1, sent, done));
  q.push(request(2, sent, done)); // one in flight at most: this one waits
  expect(sent).toEqual([1]);
  q.fulfillRequest({ correlationId: 1, payload: Buffer.alloc(0), size: 0 });
  expect(sent).toEqual([1, 2]);
  q.fulfillRequest({ correlationId: 2, payload: Buffer.alloc(0), size: 0 });
  expect(done).toEqual([1, 2]);
  expect(timersLeft()).toBe(0);
  q.destroy();
});

test("a request held back by broker throttling is sent when the throttle ends", () => {
  const q = queue();
  const sent: number[] = [];
  const done: number[] = [];
  q.maybeThrottle(50);
  q.push(request(1, sent, done));
  expect(sent).toEqual([]);
  jest.advanceTimersByTime(60);
  expect(sent).toEqual([1]);
  q.fulfillRequest({ correlationId: 1, payload: Buffer.alloc(0), size: 0 });
  expect(done).toEqual([1]);
  expect(timersLeft()).toBe(0);
  q.destroy();
});
