/**
 * TLS sessions kept for resumption by the two TLS adapters (host: Node's session blobs; device: the SDK's session
 * ID and master secret). Resuming skips the server's certificate — an abbreviated handshake proves only that the
 * server holds the secret of a session this client made before — so an entry may only be reused where the same
 * trust decision would be made again and the same identity is presented:
 * - the key (`sessionKey`) names everything that decision and the identity depend on: the server name checked,
 *   the address and port connected to, the trusted roots, the client certificate;
 * - the adapters store a session only from a connection whose certificate check passed, and drop the key's entry
 *   when a connection with it fails in any way (refused, handshake error, reset before it was established);
 * - entries expire after `maxAgeMs` (the client's own bound on how long one passed check is reused, whatever the
 *   server allows), measured on a monotonic clock; a clock that went backwards expires the entry too;
 * - at most `maxEntries` (the oldest goes first).
 */
import type { HashFactory } from "../crypto/sha2";
// No import of core/bytes: the device preloads this module (through ssl/cache), and TextEncoder does not exist then.

export interface TlsSessionCacheOptions {
  /** Monotonic milliseconds (e.g. Clock.monotonic). */
  readonly now: () => number;
  /** How long a stored session may be offered (default 2 h; at most 24 h as RFC 5246 advises). */
  readonly maxAgeMs?: number;
  /** How many servers' sessions are kept (default 4). */
  readonly maxEntries?: number;
}

export const DEFAULT_SESSION_MAX_AGE_MS = 2 * 60 * 60 * 1000;
const LONGEST_MAX_AGE_MS = 24 * 60 * 60 * 1000;

interface Entry<T> {
  readonly value: T;
  readonly storedAt: number;
}

export class TlsSessionCache<T> {
  private readonly entries = new Map<string, Entry<T>>();
  private readonly maxAgeMs: number;
  private readonly maxEntries: number;

  constructor(private readonly options: TlsSessionCacheOptions) {
    this.maxAgeMs = Math.max(0, Math.min(options.maxAgeMs ?? DEFAULT_SESSION_MAX_AGE_MS, LONGEST_MAX_AGE_MS));
    this.maxEntries = Math.max(1, options.maxEntries ?? 4);
  }

  /** The session stored under `key`, unless it expired (then it is dropped). */
  get(key: string): T | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    const age = this.options.now() - entry.storedAt;
    if (age < 0 || age > this.maxAgeMs) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  /** Stores (or replaces) the session for `key`; the oldest entry makes room. */
  put(key: string, value: T): void {
    this.entries.delete(key);
    while (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
    this.entries.set(key, { value, storedAt: this.options.now() });
  }

  drop(key: string): void {
    this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }
}

/** What a session is bound to. */
export interface SessionScope {
  /** The name the certificate was checked against (and SNI). */
  readonly serverName: string;
  /** Where the socket goes (an address or a name) and the port. */
  readonly host: string;
  readonly port: number;
  /** The trusted roots, in the adapter's encoding (only compared, never parsed). */
  readonly ca: readonly Uint8Array[];
  /** The client certificate presented, if any. */
  readonly certificate?: Uint8Array | undefined;
}

/**
 * The cache key of a scope: the name, host and port in clear, the roots and the client certificate as SHA-256
 * digests (each root prefixed by its length, so no two different lists digest alike by concatenation).
 */
export function sessionKey(scope: SessionScope, hash: HashFactory): string {
  const roots = hash("SHA-256");
  for (const root of scope.ca) {
    roots.update(lengthPrefix(root.byteLength));
    roots.update(root);
  }
  let identity = "none";
  if (scope.certificate) {
    const h = hash("SHA-256");
    h.update(scope.certificate);
    identity = toHex(h.digest());
  }
  return `${scope.serverName}|${scope.host}:${scope.port}|roots=${toHex(roots.digest())}|client=${identity}`;
}

/** A 4-byte big-endian length. */
function lengthPrefix(length: number): Uint8Array {
  return new Uint8Array([(length >>> 24) & 0xff, (length >>> 16) & 0xff, (length >>> 8) & 0xff, length & 0xff]);
}

function toHex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += (b < 16 ? "0" : "") + b.toString(16);
  return out;
}
