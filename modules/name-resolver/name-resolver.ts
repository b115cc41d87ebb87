/**
 * Host name to IPv4 address, with the system resolver (`Net.resolve` from the SDK's `net` module: lwIP's DNS
 * client on esp32, with the servers DHCP handed out; GLib's GResolver on lin, i.e. the host's own resolver and
 * /etc/hosts). Shared by the UDP and HTTPS adapters; the MQTT connector has its own copy of the same logic.
 *
 * Why not the ECMA-419 resolver (`embedded:network/dns/resolver/udp`, examples/io/udp/dns in SDK 8.2.3): it sends
 * its own queries to an explicit list of DNS servers (the SDK example hard-codes 1.1.1.1). The device would have
 * to learn the DHCP-provided servers first, and in the simulator it would bypass the host's resolver. `Net.resolve`
 * works the same on esp32 and lin without configuration.
 *
 * - IPv4 literals are returned as they are; "localhost" is 127.0.0.1 (GResolver may answer ::1 first, which the
 *   SDK's lin resolver reports as "not resolved").
 * - Only IPv4 answers count: the ECMA-419 sockets of SDK 8.2.3 take IPv4 addresses (lin: inet_addr()).
 * - Every look-up settles: a resolver that never answers is a NameNotResolvedError after `timeoutMs`.
 * - Never throws; `Net.resolve` throwing (e.g. lwIP's look-up table is full) becomes a rejection.
 */
import Net from "net";
import Timer from "timer";

export class NameNotResolvedError extends Error {
  // A class field, not `this.name = ...`: on Moddable Error.prototype is frozen and that assignment throws.
  override readonly name = "NameNotResolvedError";
  constructor(
    readonly host: string,
    reason: string,
  ) {
    super(`cannot resolve ${host}: ${reason}`);
  }
}

export const DEFAULT_RESOLVE_TIMEOUT_MS = 10_000;

export function isIPv4(host: string): boolean {
  const parts = host.split(".");
  return parts.length === 4 && parts.every((p) => /^[0-9]{1,3}$/.test(p) && Number(p) <= 255);
}

/** The IPv4 address of `host`; rejects with NameNotResolvedError. */
export function resolveIPv4(host: string, timeoutMs: number = DEFAULT_RESOLVE_TIMEOUT_MS): Promise<string> {
  if (isIPv4(host)) return Promise.resolve(host);
  if (host.toLowerCase() === "localhost") return Promise.resolve("127.0.0.1");
  if (host.length === 0 || host.length > 253) return Promise.reject(new NameNotResolvedError(host, "not a host name"));
  return new Promise<string>((resolve, reject) => {
    let settled = false;
    const timer = Timer.set(() => {
      if (settled) return;
      settled = true;
      reject(new NameNotResolvedError(host, `no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    try {
      Net.resolve(host, (_name: string, address?: string) => {
        if (settled) return;
        settled = true;
        Timer.clear(timer);
        if (typeof address === "string" && isIPv4(address)) resolve(address);
        else reject(new NameNotResolvedError(host, "the name does not resolve to an IPv4 address"));
      });
    } catch (error) {
      if (settled) return;
      settled = true;
      Timer.clear(timer);
      reject(new NameNotResolvedError(host, error instanceof Error ? error.message : String(error)));
    }
  });
}
