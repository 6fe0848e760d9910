import { checkWebhookUrl, embeddedIPv4, isForbiddenAddress, type Resolver } from "../../lib/ssrf";

const strict = { allowHttp: false, allowPrivate: false };
const answers =
  (table: Record<string, string[]>): Resolver =>
  async (host) => {
    const list = table[host];
    if (!list) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: "ENOTFOUND" });
    return list.map((address) => ({ address, family: address.includes(":") ? 6 : 4 }));
  };

describe("addresses a webhook may not reach", () => {
  it.each([
    ["0.0.0.0", "unspecified"],
    ["0.1.2.3", "this network"],
    ["127.0.0.1", "loopback"],
    ["127.255.255.254", "loopback"],
    ["10.1.2.3", "private"],
    ["172.16.0.1", "private"],
    ["172.31.255.255", "private"],
    ["192.168.1.1", "private"],
    ["169.254.169.254", "cloud metadata (link-local)"],
    ["169.254.0.1", "link-local"],
    ["100.64.0.1", "carrier-grade NAT"],
    ["100.100.100.200", "Alibaba metadata"],
    ["224.0.0.1", "multicast"],
    ["255.255.255.255", "broadcast"],
    ["::", "IPv6 unspecified"],
    ["::1", "IPv6 loopback"],
    ["fe80::1", "IPv6 link-local"],
    ["fc00::1", "IPv6 unique local"],
    ["fd00:ec2::254", "AWS IPv6 metadata (unique local)"],
    ["ff02::1", "IPv6 multicast"],
    ["::ffff:127.0.0.1", "IPv4-mapped loopback"],
    ["::ffff:7f00:1", "IPv4-mapped loopback, hex"],
    ["::ffff:169.254.169.254", "IPv4-mapped metadata"],
    ["::ffff:10.0.0.1", "IPv4-mapped private"],
    ["64:ff9b::7f00:1", "NAT64 of loopback"],
    ["2002:7f00:1::", "6to4 of loopback"],
    ["not-an-ip", "no address at all"],
  ])("should refuse %s (%s)", (ip) => {
    expect(isForbiddenAddress(ip)).toBe(true);
  });

  it.each([
    "93.184.216.34",
    "8.8.8.8",
    "172.32.0.1",
    "192.169.0.1",
    "2606:2800:220:1::1",
    "::ffff:93.184.216.34",
    "2001:4860:4860::8888",
  ])("should allow the public address %s", (ip) => {
    expect(isForbiddenAddress(ip)).toBe(false);
  });

  it("should read the IPv4 address inside mapped, NAT64 and 6to4 forms", () => {
    expect(embeddedIPv4("::ffff:1.2.3.4")).toBe("1.2.3.4");
    expect(embeddedIPv4("::ffff:0102:0304")).toBe("1.2.3.4");
    expect(embeddedIPv4("64:ff9b::0102:0304")).toBe("1.2.3.4");
    expect(embeddedIPv4("2002:0102:0304::1")).toBe("1.2.3.4");
    expect(embeddedIPv4("2606:2800:220:1::1")).toBeNull();
  });
});

describe("a webhook URL", () => {
  const resolver = answers({
    "hooks.example.com": ["93.184.216.34"],
    "v6.example.com": ["2606:2800:220:1::1"],
    "rebound.example.com": ["93.184.216.34", "127.0.0.1"],
    "internal.example.com": ["10.0.0.5"],
    "mapped.example.com": ["::ffff:127.0.0.1"],
    "zero.example.com": ["0.0.0.0"],
  });

  it("should accept https:// to a host that resolves to public addresses, and name the address to connect to", async () => {
    const check = await checkWebhookUrl("https://hooks.example.com/in", { ...strict, resolver });
    expect(check).toMatchObject({ ok: true, target: { address: "93.184.216.34", family: 4 } });
    const v6 = await checkWebhookUrl("https://v6.example.com/in", { ...strict, resolver });
    expect(v6).toMatchObject({ ok: true, target: { address: "2606:2800:220:1::1", family: 6 } });
  });

  it("should refuse http:// unless WEBHOOK_ALLOW_HTTP, and any other scheme always", async () => {
    expect(await checkWebhookUrl("http://hooks.example.com/in", { ...strict, resolver })).toMatchObject({
      ok: false,
      type: "WEBHOOK_URL_SCHEME",
    });
    expect(
      await checkWebhookUrl("http://hooks.example.com/in", { ...strict, allowHttp: true, resolver }),
    ).toMatchObject({
      ok: true,
    });
    for (const url of ["ftp://hooks.example.com/", "file:///etc/passwd", "gopher://hooks.example.com/"])
      expect(await checkWebhookUrl(url, { allowHttp: true, allowPrivate: true, resolver })).toMatchObject({
        ok: false,
      });
  });

  it("should refuse a host when any of its DNS answers is private, loopback, 0.0.0.0 or a mapped loopback", async () => {
    for (const host of [
      "rebound.example.com",
      "internal.example.com",
      "mapped.example.com",
      "zero.example.com",
    ])
      expect(await checkWebhookUrl(`https://${host}/in`, { ...strict, resolver })).toMatchObject({
        ok: false,
        type: "WEBHOOK_URL_FORBIDDEN",
      });
  });

  it("should refuse address literals of forbidden ranges, IPv6 in brackets included", async () => {
    for (const url of [
      "https://127.0.0.1/",
      "https://0.0.0.0/",
      "https://169.254.169.254/latest/meta-data/",
      "https://[::1]/",
      "https://[::ffff:127.0.0.1]/",
      "https://[fd00::1]/",
      "https://[fe80::1]/",
      "https://2130706433/", // 127.0.0.1 as one number: URL normalizes it
      "https://0x7f.1/",
    ])
      expect(await checkWebhookUrl(url, { ...strict, resolver })).toMatchObject({
        ok: false,
        type: "WEBHOOK_URL_FORBIDDEN",
      });
  });

  it("should refuse local names without asking DNS, and a host that does not resolve", async () => {
    for (const url of ["https://localhost/", "https://api.localhost/", "https://metadata.google.internal/"])
      expect(await checkWebhookUrl(url, { ...strict, resolver })).toMatchObject({
        ok: false,
        type: "WEBHOOK_URL_FORBIDDEN",
      });
    expect(await checkWebhookUrl("https://nowhere.example.com/", { ...strict, resolver })).toMatchObject({
      ok: false,
      type: "WEBHOOK_URL_INVALID",
    });
  });

  it("should take private addresses with WEBHOOK_ALLOW_PRIVATE (tests, local use)", async () => {
    const open = { allowHttp: true, allowPrivate: true, resolver };
    expect(await checkWebhookUrl("http://127.0.0.1:8080/in", open)).toMatchObject({
      ok: true,
      target: { address: "127.0.0.1" },
    });
    expect(await checkWebhookUrl("https://internal.example.com/in", open)).toMatchObject({ ok: true });
  });

  it("should refuse what is no absolute URL, and credentials in it", async () => {
    for (const url of ["hooks.example.com/in", "/in", "https://user:pw@hooks.example.com/"])
      expect(await checkWebhookUrl(url, { ...strict, resolver })).toMatchObject({
        ok: false,
        type: "WEBHOOK_URL_INVALID",
      });
  });
});
