/** Reads what reached the real SMTP server (Mailpit) through its HTTP API. */
export interface MailSummary {
  ID: string;
  /** The Message-ID header, without its angle brackets. */
  MessageID: string;
  Subject: string;
  To: { Address: string }[];
  Snippet: string;
}

export class Mailpit {
  constructor(readonly baseUrl: string) {}

  /** Messages to one address (tests use unique addresses, so this is their own mail). */
  async to(address: string): Promise<MailSummary[]> {
    const res = await fetch(
      `${this.baseUrl}/api/v1/search?limit=500&query=${encodeURIComponent(`to:"${address}"`)}`,
    );
    if (!res.ok) throw new Error(`Mailpit search answered ${res.status}`);
    const body: any = await res.json();
    return (body.messages ?? []).filter((m: MailSummary) => m.To.some((t) => t.Address === address));
  }

  async text(id: string): Promise<string> {
    const res = await fetch(`${this.baseUrl}/api/v1/message/${id}`);
    const body: any = await res.json();
    return `${body.Subject}\n${body.Text}\n${body.HTML}`;
  }
}
