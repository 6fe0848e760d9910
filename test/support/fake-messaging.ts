/** A Messaging (lib/messaging.ts) that records what it sends and fails or hangs when told to. */
import type { Email, Messaging, Sms } from "../../lib/messaging";

export const connectionRefused = () =>
  Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" });

export class FakeMessaging implements Messaging {
  readonly emails: Email[] = [];
  readonly sms: Sms[] = [];
  /** Every send so far, successful or not. */
  attempts = 0;
  /** Each send fails with this while set. */
  failWith?: () => Error;
  private attemptWaiters: Array<{ n: number; resolve: () => void }> = [];

  async sendEmail(msg: Email): Promise<void> {
    this.attempted();
    if (this.failWith) throw this.failWith();
    this.emails.push(msg);
  }
  async sendSms(msg: Sms): Promise<void> {
    this.attempted();
    if (this.failWith) throw this.failWith();
    this.sms.push(msg);
  }
  close(): void {}

  /** Resolves once `n` sends have been attempted. */
  attemptsReached(n: number): Promise<void> {
    if (this.attempts >= n) return Promise.resolve();
    return new Promise((resolve) => this.attemptWaiters.push({ n, resolve }));
  }

  private attempted() {
    this.attempts++;
    for (const w of this.attemptWaiters.filter((w) => this.attempts >= w.n)) w.resolve();
    this.attemptWaiters = this.attemptWaiters.filter((w) => this.attempts < w.n);
  }
}
