/**
 * Module `ssl/cache`: the session cache of the SDK's TLS stack (modules/crypt/ssl), replaced so that a session is
 * offered only where the same trust decision and the same identity hold (the SDK's `ssl_cache.js` keeps one session
 * for the whole firmware, named by the server name alone, without an age limit). The SDK's handshake calls the
 * default export (`getByHost`, `getByID`, `saveSession`, `deleteSessionID`, session_419.js); the decisions are the
 * portable ServerNameSessions (src/net/server-name-sessions.ts). The TLS adapter opens a lease per connection with
 * `beginSessionLease` (socket-support `tlsSecure`) and ends it when the connection ends; connections without a
 * lease (HTTPS: `cache: false`) neither offer nor store sessions.
 *
 * The root manifest excludes the SDK's ssl_cache.js ("~") and maps `ssl/cache` here (this folder's manifest.json).
 */
import Time from "time";
import { ServerNameSessions, type SdkSession, type SessionLease } from "net/server-name-sessions";
import { TlsSessionCache } from "net/tls-session-cache";

export type { SessionLease };

/** Created on first use, at run time (a Map preloaded into ROM could not change). */
let sessions: ServerNameSessions | undefined;

function store(): ServerNameSessions {
  // Time.ticks: monotonic milliseconds (a 32-bit wrap makes an age negative, which expires the entry).
  sessions ??= new ServerNameSessions(new TlsSessionCache<SdkSession>({ now: () => Time.ticks, maxEntries: 4 }));
  return sessions;
}

/** Opens the lease of one connection to `serverName` with the given scope key (src/net/tls-session-cache `sessionKey`). */
export function beginSessionLease(serverName: string, scope: string): SessionLease {
  return store().begin(serverName, scope);
}

/** Ends a lease; `failed` drops the scope's session (the next handshake is a full one). */
export function endSessionLease(lease: SessionLease, failed: boolean): void {
  store().end(lease, failed);
}

const cache = {
  getByHost(host: string): SdkSession | undefined {
    return store().getByHost(host);
  },
  getByID(id: ArrayBuffer): undefined {
    return store().getByID(id);
  },
  saveSession(host: string, id: ArrayBuffer, secret: ArrayBuffer): void {
    store().saveSession(host, id, secret);
  },
  deleteSessionID(id: ArrayBuffer): void {
    store().deleteSessionID(id);
  },
};
Object.freeze(cache);

export default cache;
