/**
 * The transactional outbox. A state change and the events it causes are written in the same
 * document (`_outbox`), so neither exists without the other; the relay then publishes them to
 * their durable channels and removes them. Anything left unsent (broker down, crash between the
 * write and the publish) is re-published by a periodic sweep on every node: delivery is
 * at-least-once and consumers dedupe by eventId.
 *
 * `_outboxPending` exists only while a document has unsent events (true, never false) and is
 * indexed sparse, so the sweep's query reads the pending documents, not the collection's history.
 *
 * Use after DbMixin:
 *   const evt = this.newEvent(Events.userRegistered, user._id, data);
 *   await this.adapter.insert({ ...user, ...this.withOutbox([evt]) });
 *   await this.flushOutbox(user._id);
 * or in an update: `this.updateOneIf(filter, this.pushOutbox({ $set: {...} }, [evt]))`.
 */
import { randomUUID } from "node:crypto";
import type { ServiceSchema } from "moleculer";
import type { EventData, EventEnvelope, EventName } from "../contracts";
import { publish } from "../lib/channels";
import { config } from "../lib/config";
import type { DbIndexSettings, IndexSpec } from "./db.mixin";

/** The sweep's index: only pending documents carry the field, so it holds only them. */
export const OUTBOX_PENDING_INDEX: IndexSpec = { fields: { _outboxPending: 1 }, sparse: true };

/** What OutboxMixin gives its host (with DbMixin's DbMethods). */
export interface OutboxMethods {
  newEvent<E extends EventName>(type: E, key: string, data: EventData[E], version?: number): EventEnvelope<E>;
  /** Fields for a new document that carries pending events. */
  withOutbox(events: EventEnvelope[]): Record<string, unknown>;
  /** `update` plus the operators that add pending events to an existing document. */
  pushOutbox(update: Record<string, any>, events: EventEnvelope[]): Record<string, any>;
  /** Publishes the pending events of one document, in order, and removes each once sent. */
  flushOutbox(id: string): Promise<void>;
  /** flushOutbox without making the caller wait; stopping the service waits for it. */
  flushSoon(id: string): void;
}

export const OutboxMixin: ServiceSchema = {
  name: "",
  // DbMixin creates the indexes its host's mixins declare here.
  settings: { dbIndexes: { outboxPending: OUTBOX_PENDING_INDEX } } as DbIndexSettings,
  methods: {
    newEvent<E extends EventName>(type: E, key: string, data: EventData[E], version = 1): EventEnvelope<E> {
      return { eventId: randomUUID(), type, version, occurredAt: new Date().toISOString(), key, data };
    },

    /** Fields for a new document that carries pending events. */
    withOutbox(events: EventEnvelope[]) {
      return events.length ? { _outbox: events, _outboxPending: true } : { _outbox: [] };
    },

    /** `update` plus the operators that add pending events to an existing document. */
    pushOutbox(update: Record<string, any>, events: EventEnvelope[]) {
      return {
        ...update,
        $set: { ...update.$set, _outboxPending: true },
        $push: { ...update.$push, _outbox: { $each: events } },
      };
    },

    /** Publishes the pending events of one document, in order, and removes each once sent. */
    async flushOutbox(this: any, id: string): Promise<void> {
      const doc = await this.adapter.findById(id);
      for (const evt of (doc?._outbox ?? []) as EventEnvelope[]) {
        try {
          await this.publishEvent(evt);
        } catch (err) {
          // Left in place: the sweep tries again, and later events wait so order is kept.
          this.logger.warn(`Outbox: publishing ${evt.type} ${evt.eventId} failed; will retry.`, String(err));
          return;
        }
        await this.updateOneIf({ _id: id }, { $pull: { _outbox: { eventId: evt.eventId } } });
      }
      await this.updateOneIf({ _id: id, _outbox: { $size: 0 } }, { $unset: { _outboxPending: true } });
    },

    /**
     * flushOutbox without making the caller wait (the events are safe in the document already).
     * Stopping the service waits for these, so a node going down does not cut one off halfway.
     */
    flushSoon(this: any, id: string): void {
      const flush: Promise<void> = this.flushOutbox(id)
        .catch((err: unknown) =>
          this.logger.warn(`Outbox flush of ${id} failed; the sweep retries.`, String(err)),
        )
        .finally(() => this.__flushing.delete(flush));
      this.__flushing.add(flush);
    },

    async publishEvent(this: any, evt: EventEnvelope): Promise<void> {
      // msgID: JetStream drops a second publish of the same event (the write path and the sweep
      // may both flush one document) within its duplicate window.
      await publish(this.broker, evt.type, evt, { "event-id": evt.eventId }, evt.eventId);
    },

    async sweepOutbox(this: any): Promise<void> {
      if (this.__sweeping) return;
      this.__sweeping = true;
      try {
        // Once per start: documents flushed by older code kept `_outboxPending: false`, which a
        // sparse index still holds; without the field they leave it.
        if (!this.__legacyCleared) {
          const legacy = { _outboxPending: false };
          const unset = { $unset: { _outboxPending: true } };
          // NeDB through its own async API (moleculer-db's updateMany warns DEP0174), Mongo through the adapter.
          await (this.adapter.db?.updateAsync
            ? this.adapter.db.updateAsync(legacy, unset, { multi: true })
            : this.adapter.updateMany(legacy, unset));
          this.__legacyCleared = true;
        }
        const pending = await this.adapter.find({ query: { _outboxPending: true }, limit: 500 });
        for (const doc of pending) await this.flushOutbox(doc._id);
      } catch (err) {
        this.logger.warn("Outbox sweep failed; will retry.", String(err));
      } finally {
        this.__sweeping = false;
      }
    },
  },
  created(this: any) {
    this.__flushing = new Set<Promise<void>>();
    this.__sweepMs = config().outboxSweepMs;
  },
  async started(this: any) {
    this.__outboxTimer = setInterval(() => void this.sweepOutbox(), this.__sweepMs);
    this.__outboxTimer.unref?.();
  },
  async stopped(this: any) {
    clearInterval(this.__outboxTimer);
    await Promise.allSettled([...this.__flushing]);
  },
};
