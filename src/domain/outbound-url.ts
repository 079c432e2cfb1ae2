/**
 * Where outbound webhooks may go (DESIGN §9 "Outbound URLs"). tally POSTs signed bodies to the
 * URLs its callers register, so a URL must name a public https host: no private, loopback,
 * link-local, CGNAT, unique-local, multicast or reserved address in any spelling, no internal name,
 * no credentials. Loopback is allowed (over http too) only for local development.
 *
 * Addresses are judged on the hostname WHATWG URL parsing produces: it turns the decimal, hex,
 * octal and short IPv4 forms (2130706433, 0x7f000001, 0177.0.0.1, 127.1) into dotted quads and
 * writes IPv6 in one canonical form. Names are not resolved (a Worker cannot), so a public name
 * pointing at a private address is not caught here; Cloudflare's network does not route Workers'
 * fetches to private addresses.
 */

export interface OutboundUrlPolicy {
  /** 127.0.0.0/8, ::1 and localhost, over http or https: for local development and tests only. */
  allowLoopback: boolean;
}

export type OutboundUrlCheck = { ok: true; url: URL } | { ok: false; reason: string };

/** WEBHOOK_ALLOW_LOOPBACK="true" allows loopback; anything else, or nothing, does not. */
export function outboundUrlPolicy(env: { WEBHOOK_ALLOW_LOOPBACK?: string | undefined }): OutboundUrlPolicy {
  return { allowLoopback: env.WEBHOOK_ALLOW_LOOPBACK === "true" };
}

export function checkOutboundUrl(raw: string, policy: OutboundUrlPolicy): OutboundUrlCheck {
  const url = URL.canParse(raw) ? new URL(raw) : null;
  if (url === null) return refuse("is not a URL");
  if (url.protocol !== "https:" && url.protocol !== "http:") return refuse("must use https");
  if (url.username !== "" || url.password !== "") return refuse("must not carry credentials (user:password@)");
  const host = classifyHost(url.hostname);
  if (host.kind === "refused") return refuse(`points to ${host.what}`);
  if (host.kind === "loopback") {
    return policy.allowLoopback ? { ok: true, url } : refuse('points to loopback, allowed only when WEBHOOK_ALLOW_LOOPBACK is "true"');
  }
  if (url.protocol !== "https:") return refuse('must use https (http only for loopback when WEBHOOK_ALLOW_LOOPBACK is "true")');
  return { ok: true, url };
}

function refuse(reason: string): OutboundUrlCheck {
  return { ok: false, reason: `the URL ${reason}` };
}

type HostKind = { kind: "public" } | { kind: "loopback" } | { kind: "refused"; what: string };

const PUBLIC: HostKind = { kind: "public" };
const LOOPBACK: HostKind = { kind: "loopback" };
const refused = (what: string): HostKind => ({ kind: "refused", what });

function classifyHost(hostname: string): HostKind {
  if (hostname.startsWith("[")) return classifyIpv6(parseIpv6(hostname.slice(1, -1)));
  const ipv4 = parseIpv4(hostname);
  if (ipv4 !== null) return classifyIpv4(ipv4);
  return classifyName(hostname);
}

/** Names that never leave the network they are used in (RFC 6761, 6762, the `.internal` TLD). */
function classifyName(hostname: string): HostKind {
  const name = hostname.endsWith(".") ? hostname.slice(0, -1) : hostname;
  if (name === "localhost" || name.endsWith(".localhost")) return LOOPBACK;
  if (name.endsWith(".local") || name.endsWith(".internal")) return refused(`an internal name (${name})`);
  // A single-label name is resolved through local search domains (`metadata`, `intranet`).
  if (!name.includes(".")) return refused(`a single-label name (${name}), not a public host`);
  return PUBLIC;
}

interface Block {
  base: bigint;
  bits: number;
  size: number;
  what: string;
}

function block(cidr: string, what: string): Block {
  const [address = "", length = ""] = cidr.split("/");
  const ipv4 = parseIpv4(address);
  return ipv4 === null
    ? { base: parseIpv6(address), bits: Number(length), size: 128, what }
    : { base: ipv4, bits: Number(length), size: 32, what };
}

function inBlock(address: bigint, b: Block): boolean {
  const shift = BigInt(b.size - b.bits);
  return address >> shift === b.base >> shift;
}

const PRIVATE = "a private network address";
const DOCUMENTATION = "a documentation address";

/** IANA's special-purpose IPv4 ranges that are not globally reachable (RFC 6890 and successors). */
const IPV4_BLOCKS = [
  block("0.0.0.0/8", "an unspecified (this-network) address"),
  block("10.0.0.0/8", PRIVATE),
  block("100.64.0.0/10", "a carrier-grade NAT address"),
  block("169.254.0.0/16", "a link-local address (cloud metadata services live there)"),
  block("172.16.0.0/12", PRIVATE),
  block("192.0.0.0/24", "an IETF protocol assignment"),
  block("192.0.2.0/24", DOCUMENTATION),
  block("192.88.99.0/24", "a 6to4 relay address"),
  block("192.168.0.0/16", PRIVATE),
  block("198.18.0.0/15", "a benchmarking address"),
  block("198.51.100.0/24", DOCUMENTATION),
  block("203.0.113.0/24", DOCUMENTATION),
  block("224.0.0.0/4", "a multicast address"),
  block("240.0.0.0/4", "a reserved or broadcast address"),
];
const IPV4_LOOPBACK = block("127.0.0.0/8", "loopback");

function classifyIpv4(address: bigint): HostKind {
  if (inBlock(address, IPV4_LOOPBACK)) return LOOPBACK;
  const hit = IPV4_BLOCKS.find((b) => inBlock(address, b));
  return hit ? refused(hit.what) : PUBLIC;
}

/** IPv6 ranges that carry an IPv4 address in their low 32 bits (NAT64) or in bits 16–48 (6to4). */
const NAT64 = block("64:ff9b::/96", "NAT64");
const SIX_TO_FOUR = block("2002::/16", "6to4");

/** Inside global unicast (2000::/3), the ranges that are not globally reachable. */
const IPV6_GLOBAL_EXCEPTIONS = [
  block("2001:db8::/32", DOCUMENTATION),
  block("3fff::/20", DOCUMENTATION),
  block("2001::/23", "an IETF protocol assignment (Teredo, benchmarking, ORCHID)"),
];

/** Outside global unicast, what each well-known range is, for the message. */
const IPV6_NAMED = [
  block("::ffff:0:0/96", "an IPv4-mapped IPv6 address"),
  block("::/96", "an IPv4-compatible IPv6 address"),
  block("64:ff9b:1::/48", "a local-use NAT64 address"),
  block("100::/64", "a discard-only address"),
  block("fc00::/7", "a unique-local address"),
  block("fe80::/10", "a link-local address"),
  block("fec0::/10", "a site-local address"),
  block("ff00::/8", "a multicast address"),
];
const GLOBAL_UNICAST = block("2000::/3", "global unicast");

function classifyIpv6(address: bigint): HostKind {
  if (address === 0n) return refused("the unspecified address (::)");
  if (address === 1n) return LOOPBACK;
  // An embedded IPv4 address is judged as itself; loopback through such a form is never allowed.
  const embedded = inBlock(address, NAT64) ? address & 0xffffffffn : inBlock(address, SIX_TO_FOUR) ? (address >> 80n) & 0xffffffffn : null;
  if (embedded !== null) {
    const inner = classifyIpv4(embedded);
    return inner.kind === "public" ? PUBLIC : refused(`an IPv6 form of ${inner.kind === "loopback" ? "loopback" : inner.what}`);
  }
  if (inBlock(address, GLOBAL_UNICAST)) {
    const hit = IPV6_GLOBAL_EXCEPTIONS.find((b) => inBlock(address, b));
    return hit ? refused(hit.what) : PUBLIC;
  }
  const named = IPV6_NAMED.find((b) => inBlock(address, b));
  return refused(named?.what ?? "an address outside IPv6 global unicast");
}

/** A dotted quad as WHATWG serialises IPv4 hosts; null for anything else. */
function parseIpv4(text: string): bigint | null {
  const parts = text.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255)) return null;
  return parts.reduce((value, part) => (value << 8n) | BigInt(part), 0n);
}

/**
 * An IPv6 address as 128 bits. Takes the forms WHATWG serialises (hex groups, one `::`) and a
 * trailing dotted quad, as written in the ranges above.
 */
function parseIpv6(text: string): bigint {
  let hex = text;
  const quad = /(\d+\.\d+\.\d+\.\d+)$/.exec(text)?.[1];
  if (quad !== undefined) {
    const v4 = parseIpv4(quad) ?? 0n;
    hex = `${text.slice(0, -quad.length)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const [head = "", tail] = hex.split("::");
  const groups = (part: string) => (part === "" ? [] : part.split(":"));
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const all = [...left, ...Array.from({ length: 8 - left.length - right.length }, () => "0"), ...right];
  return all.reduce((value, group) => (value << 16n) | BigInt(`0x${group || "0"}`), 0n);
}
