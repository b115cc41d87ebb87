/**
 * The device's TLS session cache behind the SDK's interface (modules/crypt/ssl: `getByHost(serverName)`,
 * `saveSession(serverName, id, masterSecret)`, `deleteSessionID(id)`), which names a session by the server name
 * alone. The SDK's own cache keeps one session for the whole firmware (each HTTPS request to another name evicts the
 * hub's), never expires it, and after a refused resumption deletes the session the full handshake just made. Here:
 *
 * - the adapter opens a lease per connection (`begin(serverName, scope)`, scope = `sessionKey` of the server name,
 *   address, port, roots and client certificate) and ends it (`end(lease, failed)`); the SDK's calls are answered
 *   only for a server name with a lease open, from the entry of that lease's scope — a session is never offered to
 *   another scope, and not at all while two connections with different scopes to one name are open;
 * - a new session is stored only after the lease heard that the server's chain passed (`chainAccepted`); a resumed
 *   handshake saves the same session again and keeps its original age (the age bounds the reuse of one check);
 * - a failed connection (`end(lease, true)`) and a refused resumption drop that session only;
 * - entries live in a TlsSessionCache (bounded, aged, monotonic clock).
 */
import { TlsSessionCache } from "./tls-session-cache";

/** A session as the SDK keeps it: its ID and master secret (opaque buffers). */
export interface SdkSession {
  readonly id: ArrayBuffer;
  readonly secret: ArrayBuffer;
}

export interface SessionLease {
  readonly serverName: string;
  readonly scope: string;
  /** The server's chain passed the certificate check on this connection. */
  chainAccepted(): void;
}

interface NameState {
  scope: string;
  open: number;
  contended: boolean;
  accepted: boolean;
}

export class ServerNameSessions {
  private readonly names = new Map<string, NameState>();

  constructor(private readonly cache: TlsSessionCache<SdkSession>) {}

  begin(serverName: string, scope: string): SessionLease {
    const state = this.names.get(serverName);
    if (!state || state.open === 0) {
      this.names.set(serverName, { scope, open: 1, contended: false, accepted: false });
    } else {
      state.open++;
      if (state.scope !== scope) state.contended = true;
    }
    const names = this.names;
    return {
      serverName,
      scope,
      chainAccepted(): void {
        const current = names.get(serverName);
        if (current && current.scope === scope) current.accepted = true;
      },
    };
  }

  end(lease: SessionLease, failed: boolean): void {
    if (failed) this.cache.drop(lease.scope);
    const state = this.names.get(lease.serverName);
    if (!state || state.open === 0) return;
    state.open--;
    if (state.open === 0) this.names.delete(lease.serverName);
  }

  // ---- the SDK's interface ----

  getByHost(serverName: string): SdkSession | undefined {
    const state = this.usable(serverName);
    const entry = state ? this.cache.get(state.scope) : undefined;
    return entry ? { id: entry.id, secret: entry.secret } : undefined;
  }

  /** The SDK acts as a TLS client only here: no server-side lookups. */
  getByID(_id: ArrayBuffer): undefined {
    return undefined;
  }

  saveSession(serverName: string, id: ArrayBuffer, secret: ArrayBuffer): void {
    const state = this.usable(serverName);
    if (!state) return;
    const stored = this.cache.get(state.scope);
    if (stored && sameBytes(stored.id, id)) return; // resumed: the session and its age stay
    if (!state.accepted) return; // a new session without a passed check is never kept
    this.cache.put(state.scope, { id: id.slice(0), secret: secret.slice(0) });
  }

  deleteSessionID(id: ArrayBuffer): void {
    for (const state of this.names.values()) {
      const stored = this.cache.get(state.scope);
      if (stored && sameBytes(stored.id, id)) this.cache.drop(state.scope);
    }
  }

  private usable(serverName: string): NameState | undefined {
    const state = this.names.get(serverName);
    return state && state.open > 0 && !state.contended ? state : undefined;
  }
}

function sameBytes(a: ArrayBuffer, b: ArrayBuffer): boolean {
  if (a.byteLength !== b.byteLength) return false;
  const x = new Uint8Array(a);
  const y = new Uint8Array(b);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}
