/**
 * The admin's email about a webhook endpoint that was switched off. The deactivation and the
 * notice's `pending` mark are one write (lib/webhook-dispatcher.ts); this sends what is pending
 * and then marks it sent, so a node dying in between leaves it for the next sweep on any node
 * (at least once; the mark is conditional, so two nodes rarely both send).
 */
import type { EndpointDoc } from "../domain/webhooks";
import type { Messaging } from "./messaging";

const SWEEP_MS = 30_000;

interface NoticeStore {
  find(q: { query: object; limit?: number }): Promise<any[]>;
  updateOneIf(filter: object, update: object): Promise<any | null>;
}

export function deactivationEmail(to: string, e: EndpointDoc) {
  const when = new Date(e.deactivatedAt ?? Date.now()).toISOString();
  const text =
    `The webhook endpoint ${e.url} (${e._id}) was switched off at ${when}: ${e.deactivationReason}.\n` +
    `Its deliveries stay in its log (GET /api/webhooks/${e._id}/deliveries). ` +
    `PATCH /api/webhooks/${e._id} with {"active": true} switches it on again.\n`;
  const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return {
    to,
    subject: `Webhook endpoint deactivated: ${e.url}`,
    text,
    html: `<p>${esc(text).replace(/\n/g, "<br>")}</p>`,
  };
}

export class WebhookAdminNotices {
  private timer?: NodeJS.Timeout;
  private sweeping?: Promise<void>;

  constructor(
    private readonly store: NoticeStore,
    private readonly adminEmail: string | undefined,
    private readonly messaging: Messaging,
    private readonly logger: { warn(...args: unknown[]): void; info(...args: unknown[]): void },
  ) {}

  start(): void {
    this.timer = setInterval(() => this.sendSoon(), SWEEP_MS);
    this.timer.unref();
    this.sendSoon();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  sendSoon(): void {
    this.sweeping ??= this.sweep().finally(() => (this.sweeping = undefined));
  }

  private async sweep(): Promise<void> {
    try {
      const due: EndpointDoc[] = await this.store.find({
        query: { kind: "endpoint", deactivationNotice: "pending" },
        limit: 100,
      });
      for (const e of due) {
        if (this.adminEmail) await this.messaging.sendEmail(deactivationEmail(this.adminEmail, e));
        else
          this.logger.warn(
            `Webhook endpoint ${e._id} was switched off; ADMIN_EMAIL is not set, so no email.`,
          );
        await this.store.updateOneIf(
          { _id: e._id, deactivationNotice: "pending" },
          { $set: { deactivationNotice: this.adminEmail ? "sent" : "skipped" } },
        );
      }
    } catch (err: any) {
      this.logger.warn(
        `Webhooks: the deactivation email could not be sent (${err?.message ?? err}); retrying later.`,
      );
    }
  }
}
