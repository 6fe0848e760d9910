/**
 * Where a webhook may be sent (SSRF defence). A URL must be https:// (http:// only with
 * WEBHOOK_ALLOW_HTTP) and every address its host resolves to must be public: no private,
 * loopback, link-local (cloud metadata lives there), unspecified, multicast, reserved,
 * unique-local IPv6, nor an IPv6 form that embeds such an IPv4 address (mapped, NAT64, 6to4).
 * WEBHOOK_ALLOW_PRIVATE lifts the address rule. The check runs when an endpoint is saved and
 * again before every delivery; the delivery then connects to the very address that was checked,
 * so a name that resolves differently a moment later (DNS rebinding) cannot slip through.
 */
import dns from "node:dns";
import net from "node:net";

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Every address of a host name (tests inject their own answers). */
export type Resolver = (host: string) => Promise<ResolvedAddress[]>;

export const systemResolver: Resolver = async (host) => {
  const answers = await dns.promises.lookup(host, { all: true, verbatim: true });
  return answers.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
};

const V4_BLOCKED: [string, number][] = [
  ["0.0.0.0", 8], // "this network", 0.0.0.0 included
  ["10.0.0.0", 8],
  ["100.64.0.0", 10], // carrier-grade NAT (Alibaba's metadata address is in it)
  ["127.0.0.0", 8],
  ["169.254.0.0", 16], // link-local: 169.254.169.254 is the metadata service of most clouds
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.0.2.0", 24],
  ["192.88.99.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["198.51.100.0", 24],
  ["203.0.113.0", 24],
  ["224.0.0.0", 4], // multicast
  ["240.0.0.0", 4], // reserved, 255.255.255.255 included
];
const V6_BLOCKED: [string, number][] = [
  ["::", 128],
  ["::1", 128],
  ["::", 96], // IPv4-compatible (deprecated)
  ["100::", 64], // discard
  ["2001:db8::", 32], // documentation
  ["fc00::", 7], // unique local (AWS's IPv6 metadata address fd00:ec2::254 is in it)
  ["fe80::", 10], // link-local
  ["fec0::", 10], // site-local (deprecated)
  ["ff00::", 8], // multicast
];

const blocked = new net.BlockList();
for (const [a, p] of V4_BLOCKED) blocked.addSubnet(a, p, "ipv4");
for (const [a, p] of V6_BLOCKED) blocked.addSubnet(a, p, "ipv6");

/** Names that are local whatever a resolver says. */
const LOCAL_NAMES = /(^|\.)(localhost|localdomain|internal|local)$/i;

/** The IPv4 address an IPv6 address carries: mapped (::ffff:a.b.c.d), NAT64 (64:ff9b::/96) or 6to4 (2002::/16). */
export function embeddedIPv4(ipv6: string): string | null {
  const words = expandIPv6(ipv6);
  if (!words) return null;
  const v4 = (hi: number, lo: number) => `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  const zeros = (from: number, to: number) => words.slice(from, to).every((w) => w === 0);
  if (zeros(0, 5) && words[5] === 0xffff) return v4(words[6], words[7]);
  if (words[0] === 0x64 && words[1] === 0xff9b && zeros(2, 6)) return v4(words[6], words[7]);
  if (words[0] === 0x2002) return v4(words[1], words[2]);
  return null;
}

/** Eight 16-bit words, or null when it is no IPv6 address. */
function expandIPv6(ip: string): number[] | null {
  if (!net.isIPv6(ip)) return null;
  let text = ip.replace(/%.*$/, "");
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted[1].split(".").map(Number);
    text = text.slice(0, -dotted[1].length) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes("::") ? text.split("::") : [text, undefined];
  const part = (s: string | undefined) => (s ? s.split(":").map((w) => parseInt(w, 16)) : []);
  const left = part(head);
  const right = part(tail);
  const fill = tail === undefined ? [] : new Array(8 - left.length - right.length).fill(0);
  return [...left, ...fill, ...right];
}

/** True when a webhook must not go to this IP address (an IPv4 or IPv6 literal). */
export function isForbiddenAddress(ip: string): boolean {
  if (net.isIPv4(ip)) return blocked.check(ip, "ipv4");
  if (!net.isIPv6(ip)) return true;
  const v4 = embeddedIPv4(ip);
  if (v4 !== null) return blocked.check(v4, "ipv4");
  return blocked.check(ip.replace(/%.*$/, ""), "ipv6");
}

export interface UrlPolicy {
  allowHttp: boolean;
  allowPrivate: boolean;
  resolver?: Resolver;
}

export type UrlCheck =
  | { ok: true; url: URL; target: ResolvedAddress }
  | {
      ok: false;
      reason: string;
      type: "WEBHOOK_URL_SCHEME" | "WEBHOOK_URL_INVALID" | "WEBHOOK_URL_FORBIDDEN";
    };

/**
 * Checks a webhook URL and resolves its host: `target` is the address to connect to, the first
 * one the host resolved to, each of which was checked (one forbidden answer refuses the URL).
 */
export async function checkWebhookUrl(raw: string, policy: UrlPolicy): Promise<UrlCheck> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, type: "WEBHOOK_URL_INVALID", reason: "must be an absolute URL" };
  }
  if (url.protocol !== "https:" && !(url.protocol === "http:" && policy.allowHttp))
    return {
      ok: false,
      type: "WEBHOOK_URL_SCHEME",
      reason: policy.allowHttp ? "must use https:// or http://" : "must use https://",
    };
  if (url.username || url.password)
    return { ok: false, type: "WEBHOOK_URL_INVALID", reason: "must not carry credentials" };
  // URL keeps brackets around an IPv6 literal.
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  if (!policy.allowPrivate && !net.isIP(host) && LOCAL_NAMES.test(host.replace(/\.$/, "")))
    return { ok: false, type: "WEBHOOK_URL_FORBIDDEN", reason: `host ${host} is a local name` };
  let answers: ResolvedAddress[];
  try {
    answers = net.isIP(host)
      ? [{ address: host, family: net.isIPv6(host) ? 6 : 4 }]
      : await (policy.resolver ?? systemResolver)(host);
  } catch (err: any) {
    return {
      ok: false,
      type: "WEBHOOK_URL_INVALID",
      reason: `host ${host} does not resolve (${err?.code ?? err})`,
    };
  }
  if (!answers.length)
    return { ok: false, type: "WEBHOOK_URL_INVALID", reason: `host ${host} does not resolve` };
  const bad = policy.allowPrivate ? undefined : answers.find((a) => isForbiddenAddress(a.address));
  if (bad)
    return {
      ok: false,
      type: "WEBHOOK_URL_FORBIDDEN",
      reason: `host ${host} resolves to ${bad.address}, a private, loopback, link-local or reserved address`,
    };
  return { ok: true, url, target: answers[0] };
}
