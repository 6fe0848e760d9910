/**
 * Email and SMS transports. In a cluster: SMTP (nodemailer) and Twilio (its API base may point at
 * a local stub). On the embedded default each message is written under DATA_DIR instead.
 */
import fs from "node:fs";
import path from "node:path";
import nodemailer from "nodemailer";
import twilio from "twilio";
import type { Config } from "./config";

export interface Email {
  to: string;
  subject: string;
  text: string;
  html: string;
  /** `<…@…>`; nodemailer makes a random one when it is absent. */
  messageId?: string;
}
export interface Sms {
  to: string;
  body: string;
}

export interface Messaging {
  sendEmail(msg: Email): Promise<void>;
  sendSms(msg: Sms): Promise<void>;
  close(): void;
}

const FROM = "Moleculer Shop <no-reply@shop.local>";

export function createMessaging(cfg: Config): Messaging {
  const mailDir = path.join(cfg.dataDir, "mail");
  const smsFile = path.join(cfg.dataDir, "sms", "messages.jsonl");
  const mailer = cfg.smtpUrl
    ? nodemailer.createTransport(cfg.smtpUrl, { pool: true, maxConnections: 5 } as any)
    : nodemailer.createTransport({ streamTransport: true, buffer: true, newline: "unix" });

  const { accountSid, authToken, from, apiBase } = cfg.twilio;
  const sms = accountSid && authToken && from ? twilio(accountSid, authToken) : null;
  if (sms && apiBase) (sms.api as any).baseUrl = apiBase;

  return {
    async sendEmail(msg) {
      const info: any = await mailer.sendMail({ from: FROM, ...msg });
      if (!cfg.smtpUrl) {
        fs.mkdirSync(mailDir, { recursive: true });
        fs.writeFileSync(
          path.join(mailDir, `${Date.now()}-${info.messageId.replace(/[^\w.@-]/g, "")}.eml`),
          info.message,
        );
      }
    },
    async sendSms(msg) {
      if (sms) {
        await sms.messages.create({ to: msg.to, from: from!, body: msg.body });
        return;
      }
      fs.mkdirSync(path.dirname(smsFile), { recursive: true });
      fs.appendFileSync(smsFile, JSON.stringify({ ...msg, at: new Date().toISOString() }) + "\n");
    },
    close() {
      mailer.close();
    },
  };
}
