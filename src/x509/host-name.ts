/**
 * Server identity check (RFC 6125 / RFC 9525) against a certificate's subjectAltName only — the subject CN is
 * never consulted. DNS names compare case-insensitively; a wildcard is only a whole left-most label ("*.") over
 * at least two further labels, and matches exactly one label. An IP literal (IPv4 dotted quad, or IPv6 as RFC 4291
 * writes it, e.g. "::1" for a development broker) matches only an iPAddress entry of its own length.
 */
import type { SubjectAltName } from "./certificate";

export function matchesServerName(san: SubjectAltName | undefined, serverName: string): boolean {
  if (!san) return false;
  const ip = ipv4Bytes(serverName);
  if (ip) return san.ipAddresses.some((entry) => entry.length === 4 && entry.every((b, i) => b === ip[i]));
  const ip6 = ipv6Bytes(serverName);
  if (ip6) return san.ipAddresses.some((entry) => entry.length === 16 && entry.every((b, i) => b === ip6[i]));
  const name = normalize(serverName);
  if (!name || name.includes("*") || name.includes(":")) return false;
  return san.dnsNames.some((pattern) => dnsNameMatches(normalize(pattern), name));
}

/** One dNSName pattern (already normalized) against a host name. */
export function dnsNameMatches(pattern: string, name: string): boolean {
  if (!pattern || !validLabels(pattern.startsWith("*.") ? pattern.slice(2) : pattern)) return false;
  if (!pattern.includes("*")) return pattern === name;
  if (!pattern.startsWith("*.") || pattern.indexOf("*", 1) >= 0) return false; // partial or inner wildcards never match
  const base = pattern.slice(2);
  if (!base.includes(".")) return false; // "*.com", "*.local": too broad
  const dot = name.indexOf(".");
  return dot > 0 && name.slice(dot + 1) === base;
}

/** Lower case without one trailing dot; "" for a name that cannot be a host name. */
function normalize(name: string): string {
  const lower = name.toLowerCase();
  const trimmed = lower.endsWith(".") ? lower.slice(0, -1) : lower;
  return trimmed.length > 0 && trimmed.length <= 253 ? trimmed : "";
}

function validLabels(name: string): boolean {
  return name.split(".").every((label) => label.length > 0 && label.length <= 63 && /^[a-z0-9_-]+$/.test(label));
}

/** The four bytes of a dotted-quad IPv4 literal, or undefined. */
export function ipv4Bytes(text: string): number[] | undefined {
  const parts = text.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255)) return undefined;
  return parts.map(Number);
}

/**
 * The sixteen bytes of an IPv6 literal (hex groups, one "::" for a run of zero groups, an optional dotted-quad
 * tail; no zone index, no brackets), or undefined.
 */
export function ipv6Bytes(text: string): number[] | undefined {
  if (!text.includes(":") || text.length > 45) return undefined;
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const groups = (part: string): number[] | undefined => {
    if (part === "") return [];
    const out: number[] = [];
    const fields = part.split(":");
    for (let i = 0; i < fields.length; i++) {
      const field = fields[i]!;
      if (i === fields.length - 1 && field.includes(".")) {
        const v4 = ipv4Bytes(field);
        if (!v4) return undefined;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(field)) out.push(parseInt(field, 16));
      else return undefined;
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const all = [...head, ...new Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail];
  const bytes: number[] = [];
  for (const g of all) bytes.push(g >> 8, g & 0xff);
  return bytes;
}
