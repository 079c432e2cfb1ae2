import { describe, expect, it } from "vitest";
import { checkOutboundUrl, outboundUrlPolicy } from "../../src/domain/outbound-url";

const STRICT = { allowLoopback: false };
const LOCAL = { allowLoopback: true };

const refused = (url: string, policy = STRICT) => {
  const check = checkOutboundUrl(url, policy);
  return check.ok ? null : check.reason;
};

describe("checkOutboundUrl", () => {
  it.each([
    "https://example.com",
    "https://hooks.example.com:8443/path?q=1#frag",
    "https://EXAMPLE.com/Upper",
    "https://example.com./trailing-dot",
    "https://xn--bcher-kva.example/idn",
    "https://bücher.example/unicode-name",
    "https://example.com:1/odd-port",
    "https://93.184.216.34/",
    "https://8.8.8.8",
    // Just outside the refused ranges.
    "https://172.15.255.255",
    "https://172.32.0.0",
    "https://100.63.255.255",
    "https://100.128.0.0",
    "https://169.253.255.255",
    "https://11.0.0.1",
    "https://192.169.0.1",
    "https://223.255.255.255",
    "https://[2606:4700:4700::1111]/hook",
    "https://[2001:4860:4860::8888]:8443/",
    "https://[2a00:1450:4001:82a::200e]",
    // NAT64 and 6to4 forms of public IPv4 addresses reach public hosts.
    "https://[64:ff9b::808:808]",
    "https://[2002:808:808::1]",
  ])("allows the public https URL %s", (url) => {
    expect(refused(url)).toBeNull();
    expect(refused(url, LOCAL)).toBeNull();
  });

  // Each trick from the issue: address forms that WHATWG parsing normalises, internal names, credentials.
  it.each([
    ["http://169.254.169.254/", "link-local"],
    ["https://169.254.169.254/latest/meta-data/", "link-local"],
    ["https://[fd00:ec2::254]/", "unique-local"],
    ["https://metadata.google.internal/computeMetadata/v1/", "internal"],
    ["https://metadata/", "single-label"],
    ["https://10.0.0.1", "private"],
    ["https://10.255.255.255", "private"],
    ["https://172.16.0.1", "private"],
    ["https://172.31.255.255", "private"],
    ["https://192.168.1.1", "private"],
    ["https://100.64.0.1", "carrier-grade NAT"],
    ["https://100.127.255.255", "carrier-grade NAT"],
    ["https://0.0.0.0", "unspecified"],
    ["https://0.1.2.3", "unspecified"],
    ["https://[::]", "unspecified"],
    ["https://224.0.0.1", "multicast"],
    ["https://239.255.255.250", "multicast"],
    ["https://255.255.255.255", "reserved"],
    ["https://240.0.0.1", "reserved"],
    ["https://192.0.2.1", "documentation"],
    ["https://198.51.100.7", "documentation"],
    ["https://203.0.113.5", "documentation"],
    ["https://198.18.0.1", "benchmarking"],
    ["https://192.0.0.8", "IETF"],
    ["https://[fe80::1]", "link-local"],
    ["https://[febf:ffff::1]", "link-local"],
    ["https://[fec0::1]", "site-local"],
    ["https://[fc00::1]", "unique-local"],
    ["https://[fdff:ffff::1]", "unique-local"],
    ["https://[ff02::1]", "multicast"],
    ["https://[2001:db8::1]", "documentation"],
    ["https://[2001::1]", "IETF"],
    ["https://[100::1]", "discard-only"],
    ["https://[4000::1]", "outside IPv6 global unicast"],
    ["https://[::ffff:127.0.0.1]", "IPv4-mapped"],
    ["https://[::ffff:7f00:1]", "IPv4-mapped"],
    ["https://[::ffff:169.254.169.254]", "IPv4-mapped"],
    ["https://[::ffff:8.8.8.8]", "IPv4-mapped"],
    ["https://[::127.0.0.1]", "IPv4-compatible"],
    ["https://[::a9fe:a9fe]", "IPv4-compatible"],
    ["https://[64:ff9b::a9fe:a9fe]", "link-local"],
    ["https://[64:ff9b::10.0.0.1]", "private"],
    ["https://[64:ff9b:1::1]", "NAT64"],
    ["https://[2002:a9fe:a9fe::1]", "link-local"],
    ["https://[2002:c0a8:101::1]", "private"],
    ["https://user:pass@example.com", "credentials"],
    ["https://user@example.com", "credentials"],
    ["https://:pass@example.com", "credentials"],
    ["https://printer.local/hook", "internal"],
    ["https://db.internal", "internal"],
    ["https://intranet/hook", "single-label"],
    ["http://example.com", "https"],
    ["ftp://example.com", "https"],
    ["file:///etc/passwd", "https"],
    ["javascript:alert(1)", "https"],
    ["data:text/plain,hi", "https"],
    ["not a url", "not a URL"],
    ["", "not a URL"],
    ["https://", "not a URL"],
  ])("refuses %s (%s)", (url, why) => {
    for (const policy of [STRICT, LOCAL]) expect(refused(url, policy), url).toContain(why);
  });

  // Loopback in every spelling WHATWG parsing turns into 127.0.0.1, and its names.
  const LOOPBACK = [
    "https://127.0.0.1",
    "http://127.0.0.1:8787/hook",
    "http://127.255.255.254",
    "http://2130706433",
    "http://0x7f000001",
    "http://0x7f.0.0.1",
    "http://0177.0.0.1",
    "http://127.1",
    "http://127.0.1",
    "http://127.0.0.1.",
    "http://%31%32%37.0.0.1",
    "http://１２７.０.０.１",
    "https://[::1]:8443",
    "http://[0:0:0:0:0:0:0:1]",
    "http://localhost:8787",
    "https://LOCALHOST",
    "http://localhost./",
    "http://api.localhost",
  ];

  it.each(LOOPBACK)("refuses loopback %s unless loopback is allowed", (url) => {
    expect(refused(url, STRICT)).toContain("loopback");
    expect(refused(url, LOCAL)).toBeNull();
  });

  it("answers the parsed URL when it is allowed", () => {
    const check = checkOutboundUrl("https://Example.com:8443/a?b=1", STRICT);
    expect(check.ok && check.url.href).toBe("https://example.com:8443/a?b=1");
  });
});

describe("outboundUrlPolicy", () => {
  it('allows loopback only when WEBHOOK_ALLOW_LOOPBACK is exactly "true"', () => {
    expect(outboundUrlPolicy({ WEBHOOK_ALLOW_LOOPBACK: "true" })).toEqual({ allowLoopback: true });
    for (const value of [undefined, "", "false", "1", "TRUE", "yes"]) {
      expect(outboundUrlPolicy({ WEBHOOK_ALLOW_LOOPBACK: value })).toEqual({ allowLoopback: false });
    }
  });
});
