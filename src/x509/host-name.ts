/**
 * Server identity check (RFC 6125 / RFC 9525) against a certificate's subjectAltName only — the subject CN is
 * never consulted. DNS names compare case-insensitively; a wildcard is only a whole left-most label ("*.") over
 * at least two further labels, and matches exactly one label. An IPv4 literal matches only an iPAddress entry.
 */
import type { SubjectAltName } from "./certificate";

export function matchesServerName(san: SubjectAltName | undefined, serverName: string): boolean {
  if (!san) return false;
  const ip = ipv4Bytes(serverName);
  if (ip) return san.ipAddresses.some((entry) => entry.length === 4 && entry.every((b, i) => b === ip[i]));
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
