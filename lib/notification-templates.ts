/** The rendered message of a planned delivery, from the files under templates/. */
import fs from "node:fs";
import path from "node:path";
import { render, type Planned } from "../domain/notifications";
import type { Email, Sms } from "./messaging";

// templates/ sits at the project root: one level up from lib/, two from dist/lib/.
const TEMPLATES = [
  path.join(__dirname, "..", "templates"),
  path.join(__dirname, "..", "..", "templates"),
].find((d) => fs.existsSync(d))!;

function template(name: string): string {
  return fs.readFileSync(path.join(TEMPLATES, name), "utf8").trimEnd();
}

/** Throws on a missing template: a problem of the message, not worth a retry. */
export function renderMessage(p: Planned): Email | Sms {
  if (p.channel === "sms")
    return { to: p.to!, body: render(template(`${p.template}.sms.txt`), p.vars, false) };
  return {
    to: p.to!,
    subject: render(template(`${p.template}.subject.txt`), p.vars, false),
    text: render(template(`${p.template}.txt`), p.vars, false),
    html: render(template(`${p.template}.html`), p.vars, true),
  };
}
