/**
 * kafkajs, with one fix applied: import it from here, not from "kafkajs".
 *
 * kafkajs 2.2.4's request queue re-arms a timer every time it checks for pending requests, even
 * with nothing pending and no throttling, and the delay it computes then is negative (1 ms): from
 * its first response on, every broker connection wakes its process about a thousand times a
 * second for nothing (kafkajs#1556, #1704; on Node 24 it is also what prints the
 * TimeoutNegativeWarning, #1751). Measured here: an idle connected producer used 293 ms of CPU in
 * 5 s, 11 ms with this fix. Nothing pending means there is nothing to check later: a request
 * pushed later schedules its own check, and one that completes checks the queue at once.
 */
interface RequestQueue {
  pending: unknown[];
  scheduleCheckPendingRequests(): void;
}

// kafkajs exports neither a type nor a path for it.
const RequestQueueClass: { prototype: RequestQueue } = require("kafkajs/src/network/requestQueue");
const schedule = RequestQueueClass.prototype.scheduleCheckPendingRequests;
if (!(schedule as { idleFix?: true }).idleFix) {
  const fixed = function (this: RequestQueue) {
    if (this.pending.length > 0) schedule.call(this);
  };
  RequestQueueClass.prototype.scheduleCheckPendingRequests = Object.assign(fixed, { idleFix: true as const });
}

export { Kafka, logLevel, type Consumer, type KafkaMessage, type Message, type Producer } from "kafkajs";
