import { connect as netConnect, type Socket } from "node:net";
import { connect as tlsConnect, type TLSSocket } from "node:tls";
import type { StreamSocket, StreamSocketHandlers, StreamSocketOptions, StreamSocketPort } from "../../src/ports/stream-socket";
import { performance } from "node:perf_hooks";
import { TlsSessionCache, sessionKey } from "../../src/net/tls-session-cache";
import { deviceTlsOptions, nodeHash } from "./node-tls";

export interface NodeStreamSocketOptions {
  /** After close(), wait this long for the peer to finish the TLS/TCP shutdown before destroying (default 2 s). */
  readonly lingerMs?: number;
  /** Offer the previous TLS session on reconnect (default true); see NodeStreamSocketPort. */
  readonly resumeSessions?: boolean;
  /** How long a session may be offered after it was stored (default 2 h). */
  readonly sessionMaxAgeMs?: number;
}

/**
 * StreamSocketPort over node:tls (node:net without `tls`, for tests): the device's MQTT transport on the host, as
 * modules/tls-socket is on the device. The TLS options come from node-tls.ts: the given roots (PEM) and
 * `tls.serverName` — also when `host` is an address —, SNI for DNS names, the client certificate, TLS 1.2+.
 * Nagle is off. Node buffers writes without a bound of its own; what the MQTT client writes is bounded by its flow
 * (at most the outbox's byte budget of telemetry unacknowledged, request/response for the twin), so the buffer is too.
 * `close()` flushes what is queued (the DISCONNECT) and ends the connection; `onClose` follows once the peer has
 * closed as well, or after `lingerMs`. `onClose` comes once, with the first error's message as the reason (TLS
 * verification failures included, e.g. "self-signed certificate in certificate chain" or "Hostname/IP does not
 * match certificate's altnames: ...").
 *
 * Session resumption: a reconnect offers the session (TLS 1.3 ticket or TLS 1.2 session) of an earlier connection
 * of this port with the same scope — server name, host, port, trusted roots and client certificate
 * (src/net/tls-session-cache.ts `sessionKey`) —, saving the server's certificate, its signature and a key exchange.
 * A resumed handshake shows no certificate (Node then neither calls checkServerIdentity nor has a peer certificate
 * to show), so the trust it carries is that of the handshake that made the session. Hence: a session is stored only
 * from a connection that was established after OpenSSL's check, the name check and the firmware's validator all
 * passed on a full handshake (or that itself resumed such a session); the scope's session is dropped when a
 * connection fails before it is established or with a TLS error; a session is offered for at most
 * `sessionMaxAgeMs`. A server without the session's secret cannot complete a resumed handshake: it gets a full one,
 * with the full checks.
 */
export class NodeStreamSocketPort implements StreamSocketPort {
  private readonly lingerMs: number;
  private readonly sessions: TlsSessionCache<Buffer> | undefined;

  constructor(options: NodeStreamSocketOptions = {}) {
    this.lingerMs = options.lingerMs ?? 2000;
    this.sessions =
      options.resumeSessions === false ? undefined : new TlsSessionCache<Buffer>({ now: () => performance.now(), maxAgeMs: options.sessionMaxAgeMs });
  }

  connect(options: StreamSocketOptions, handlers: StreamSocketHandlers): NodeStreamSocket {
    return new NodeStreamSocket(options, handlers, this.lingerMs, this.sessions);
  }
}

/** A TLS error (alert, decryption, verification) rather than the network's (reset, time-out, refused). */
function isTlsError(error: NodeJS.ErrnoException): boolean {
  const code = error.code ?? "";
  return code.startsWith("ERR_SSL") || code.startsWith("ERR_TLS") || /certificate|SSL|TLS|alert/i.test(error.message ?? "");
}

export class NodeStreamSocket implements StreamSocket {
  private readonly socket: Socket | TLSSocket;
  private connected = false;
  private closing = false;
  private reported = false;
  private error: string | undefined;
  private linger: NodeJS.Timeout | undefined;
  /** This connection's key in the session cache (TLS with resumption only). */
  private readonly sessionKey: string | undefined;

  constructor(
    options: StreamSocketOptions,
    private readonly handlers: StreamSocketHandlers,
    private readonly lingerMs: number,
    private readonly sessions: TlsSessionCache<Buffer> | undefined,
  ) {
    const { tls } = options;
    if (tls) {
      const scope = { serverName: tls.serverName, host: options.host, port: options.port, ca: tls.ca, certificate: tls.certificate };
      const key = sessions ? sessionKey(scope, nodeHash) : undefined;
      this.sessionKey = key;
      const offered = key ? sessions?.get(key) : undefined;
      let chainAccepted = false;
      let pending: Buffer | undefined;
      const socket = tlsConnect({
        host: options.host,
        port: options.port,
        ...deviceTlsOptions({ ...tls, onChainAccepted: () => void (chainAccepted = true) }),
        ...(offered ? { session: offered } : {}),
      });
      this.socket = socket;
      // Sessions (TLS 1.2: during the handshake; TLS 1.3: tickets after it) are kept only once the connection is
      // established with a trusted chain (checked now, or by the handshake that made a resumed session).
      const trusted = (): boolean => this.connected && socket.authorized && (chainAccepted || socket.isSessionReused());
      socket.on("session", (session: Buffer) => {
        if (!key || !sessions) return;
        if (trusted()) sessions.put(key, session);
        else if (!this.connected) pending = session;
      });
      socket.once("secureConnect", () => {
        this.opened();
        if (key && sessions && pending && trusted()) sessions.put(key, pending);
        pending = undefined;
      });
    } else {
      this.socket = netConnect({ host: options.host, port: options.port });
      this.socket.once("connect", () => this.opened());
    }
    this.socket.on("data", (data: Buffer) => {
      if (this.reported || this.closing) return;
      this.handlers.onData(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    });
    this.socket.on("error", (error: NodeJS.ErrnoException) => {
      this.error ??= error.message || error.code || "socket error";
      // Any failure of the TLS connection itself forgets the scope's session (the next handshake is a full one).
      if (!this.connected || isTlsError(error)) this.forgetSession();
    });
    this.socket.on("close", () => this.finish());
  }

  /** Whether the TLS handshake resumed an earlier session (diagnostics and tests; false before it is done). */
  get sessionReused(): boolean {
    return this.connected && "isSessionReused" in this.socket && this.socket.isSessionReused();
  }

  write(bytes: Uint8Array): void {
    if (this.closing || this.reported || this.socket.destroyed) return;
    // A copy: the caller may reuse its buffer once write returns; Node may still be holding it.
    this.socket.write(Buffer.from(bytes));
  }

  close(): void {
    if (this.closing || this.reported) return;
    this.closing = true;
    if (!this.connected) {
      this.socket.destroy();
      return;
    }
    // Flush what is queued (the DISCONNECT), send close_notify/FIN, and don't wait long for the peer.
    this.socket.end();
    this.linger = setTimeout(() => this.socket.destroy(), this.lingerMs);
    this.linger.unref();
  }

  private opened(): void {
    if (this.closing || this.reported) return;
    this.connected = true;
    this.socket.setNoDelay(true);
    this.handlers.onConnect();
  }

  private forgetSession(): void {
    if (this.sessionKey) this.sessions?.drop(this.sessionKey);
  }

  private finish(): void {
    if (this.reported) return;
    this.reported = true;
    if (!this.connected) this.forgetSession();
    if (this.linger) clearTimeout(this.linger);
    const reason = this.error ?? (this.closing ? "closed" : this.connected ? "connection closed by the peer" : "connection closed before it was established");
    this.handlers.onClose(reason);
  }
}
