/**
 * StreamSocketPort (src/ports/stream-socket.ts) over the Moddable SDK's ECMA-419 TLS socket
 * (`embedded:io/socket/tcp/tls`, examples/io/tcp/tlssocket) on the ECMA-419 TCP socket: the byte stream under the
 * portable MQTT client (src/mqtt/mqtt-client.ts). Module specifier `adapters/tls-socket`.
 *
 * - Names are resolved with the system resolver (`Net.resolve`: lwIP on esp32, GResolver on lin); IPv4 literals
 *   and "localhost" skip the look-up.
 * - TLS: the server's certificates are judged by the project's path validator against exactly `tls.ca`
 *   (modules/tls-trust replaces the SDK's `ssl/cert`; see socket-support `tlsSecure`); a refusal becomes the close
 *   reason ("certificate refused: <reason> at <position>: <detail>") and a warn line, before any byte of the
 *   application is sent. `clientCertificates` [device certificate DER] and `clientKey` (unencrypted PKCS#8 DER)
 *   for mutual TLS; `serverName` for SNI and the name check. Mutual TLS needs the manifest's `config.tls`
 *   (DHE_RSA off, ECDHE_RSA on).
 * - Writes go to a queue, drained in records of at most `maxRecordBytes` as the TLS socket reports room
 *   (`onWritable`), small writes coalesced; the count it reports is kept below by a margin for the record overhead,
 *   because the lin TCP socket throws "would block" past its 1536-byte buffer.
 * - Callbacks (`onConnect`, `onData`, `onClose`) are delivered from promise jobs, in order, never beneath the TCP
 *   and TLS frames (XS's default stack is 384 slots) and never re-entrantly from `write` or `close`; nothing
 *   follows `onClose`.
 * - Containment: an exception thrown by the TLS layer inside a TCP callback (a certificate it rejects throws out of
 *   the handshake) is caught at the TCP callback — the TCP socket handed to the TLS socket is wrapped — and becomes
 *   `onClose("TLS: ...")`. The TLS socket also resumes reading from a timer of its own, outside any TCP callback;
 *   this adapter prevents that timer (by hiding the TCP byte count while it reads) and resumes reading from a
 *   guarded timer instead, so no exception from the TLS layer can reach the host and abort the VM.
 */
import Net from "net";
import Timer from "timer";
import type { StreamSocket, StreamSocketHandlers, StreamSocketOptions, StreamSocketPort } from "ports/stream-socket";
import type { ScopedLogger } from "ports/logger";
import { isIPv4 } from "adapters/name-resolver";
import {
  SocketDelegate,
  TcpSocketClass,
  TlsSocketClass,
  closeSessionLease,
  errorText,
  openSessionLease,
  refusalText,
  safely,
  tlsSecure,
  type SdkSocket,
  type SdkSocketConstructor,
  type SdkSocketOptions,
  type SessionLease,
} from "adapters/socket-support";
import type { TrustVerdict } from "x509/path-validator";

// ---- settings ---------------------------------------------------------------------------------------------------

export interface TlsSocketPortOptions {
  /** Largest TLS record written at once (default 4096, at most 16384). */
  readonly maxRecordBytes?: number;
  /** Diagnostics: debug for connection events, warn for faults. */
  readonly logger?: ScopedLogger;
}

interface Settings {
  readonly maxRecordBytes: number;
  readonly logger: ScopedLogger | undefined;
}

/**
 * Kept free below what the TLS socket reports writable: with the TLS socket's own 96 (onWritable) this leaves room
 * for a record's overhead (CBC: header, IV, MAC, padding ~70 bytes; GCM 29).
 */
const WRITE_MARGIN = 64;
/** Don't cut a record smaller than this (unless that is all there is to send). */
const MIN_RECORD = 256;

export class TlsSocketPort implements StreamSocketPort {
  private readonly settings: Settings;

  constructor(options: TlsSocketPortOptions = {}) {
    this.settings = {
      maxRecordBytes: Math.max(MIN_RECORD, Math.min(options.maxRecordBytes ?? 4096, 16_384)),
      logger: options.logger,
    };
  }

  connect(options: StreamSocketOptions, handlers: StreamSocketHandlers): StreamSocket {
    const connection = new Connection(options, handlers, this.settings);
    connection.start();
    return connection;
  }
}

// ---- one connection ---------------------------------------------------------------------------------------------

type State = "resolving" | "handshaking" | "open" | "closed";

/** What the TLS socket keeps on its TCP socket object, plus the reading hook this adapter needs. */
interface TcpWrapper {
  readonly realReadable: number;
  hideReadable: boolean;
  /** The TLS socket's TCP-readable handler, guarded. */
  readonly resume: (count: number) => void;
}

class Connection implements StreamSocket {
  private state: State = "resolving";
  private tls: SdkSocket | undefined;
  private tcp: TcpWrapper | undefined;
  private writable = 0;
  private readonly queue: Uint8Array[] = [];
  private queueOffset = 0;
  private queuedBytes = 0;
  private drainPosted = false;
  private resumeTimer: Timer | undefined;
  /** Events for the handlers, run in order from a promise job. */
  private readonly events: (() => void)[] = [];
  private eventsPosted = false;
  private reported = false;
  /** Depth of TLS/TCP callbacks on the stack (closing the TLS socket inside one is deferred). */
  private depth = 0;
  /** The certificate decision of this connection's handshake. */
  private verdict: TrustVerdict | undefined;
  /** This connection's hold on the TLS session cache (modules/tls-session-cache), TLS only. */
  private lease: SessionLease | undefined;
  /** The TLS layer threw (a failed handshake, a bad record): the session is not to be offered again. */
  private tlsFailed = false;

  constructor(
    private readonly options: StreamSocketOptions,
    private readonly handlers: StreamSocketHandlers,
    private readonly settings: Settings,
  ) {}

  start(): void {
    const host = this.options.host;
    const target = host === "localhost" ? "127.0.0.1" : host;
    try {
      if (isIPv4(target)) {
        Timer.set(() => safely(() => this.resolved(target)), 0);
      } else {
        Net.resolve(target, (_name: string, address?: string) => safely(() => this.resolved(address)));
      }
    } catch (error) {
      this.fail(`cannot resolve ${host}: ${errorText(error)}`);
    }
  }

  // ---- StreamSocket ----

  write(bytes: Uint8Array): void {
    if (this.state === "closed" || bytes.byteLength === 0) return;
    this.queue.push(bytes);
    this.queuedBytes += bytes.byteLength;
    if (this.state === "open") this.postDrain();
  }

  close(): void {
    if (this.state === "closed") return;
    // Whatever fits now (e.g. the DISCONNECT) still goes out.
    if (this.state === "open") this.drain();
    this.fail("closed");
  }

  // ---- connecting ----

  private resolved(address: string | undefined): void {
    if (this.state !== "resolving") return;
    if (!address) {
      this.fail(`cannot resolve ${this.options.host}`);
      return;
    }
    this.state = "handshaking";
    const { tls } = this.options;
    this.enter(() => {
      const client = tls?.certificate && tls.key ? { certificate: tls.certificate, key: tls.key } : undefined;
      if (tls) this.lease = openSessionLease({ serverName: tls.serverName, address, port: this.options.port, ca: tls.ca, certificate: client?.certificate });
      const secure = tls ? tlsSecure(tls.ca, tls.serverName, client, (verdict) => this.onVerdict(verdict), this.lease) : {};
      const callbacks = {
        onReadable: (count: number) => this.enter(() => this.onReadable(count)),
        onWritable: (count: number) => this.enter(() => this.onWritable(count)),
        onError: () => this.enter(() => this.onSocketError()),
      };
      const common = { address, port: this.options.port, nodelay: true, ...callbacks };
      this.tls = tls
        ? new TlsSocketClass({ ...common, host: tls.serverName, secure, TCP: { io: this.guardedTcpClass() } })
        : new (this.guardedTcpClass())(common);
      this.log("debug", "connecting", { host: this.options.host, address, port: this.options.port, tls: tls !== undefined });
    });
  }

  // ---- TLS socket callbacks (inside `enter`) ----

  private onWritable(count: number): void {
    if (this.state === "closed") return;
    this.writable = count;
    if (this.state === "handshaking") {
      this.state = "open";
      this.log("debug", "connected", { host: this.options.host, port: this.options.port });
      this.post(() => this.handlers.onConnect());
    }
    if (this.queuedBytes > 0) this.postDrain();
  }

  private onReadable(count: number): void {
    const tls = this.tls;
    const tcp = this.tcp;
    if (!tls || this.state === "closed" || count <= 0) return;
    // TLSSocket.read() starts its own (unguarded) timer to go on reading when the TCP socket still holds bytes;
    // hide them while it looks, and go on from a guarded timer instead.
    if (tcp) tcp.hideReadable = true;
    let data: unknown;
    try {
      data = tls.read();
    } finally {
      if (tcp) tcp.hideReadable = false;
    }
    if (tcp && tcp.realReadable > 0) this.scheduleResume();
    if (!(data instanceof ArrayBuffer) || data.byteLength === 0) return;
    const bytes = new Uint8Array(data);
    this.post(() => this.handlers.onData(bytes));
  }

  private onVerdict(verdict: TrustVerdict): void {
    this.verdict = verdict;
    if (!verdict.ok) {
      this.log("warn", "server certificate refused", { host: this.options.host, reason: verdict.reason, position: verdict.position, detail: verdict.detail });
    }
  }

  private onSocketError(): void {
    if (this.state === "closed") return;
    this.fail(this.state === "open" ? "connection closed by the peer" : "connection failed (TCP connect or TLS handshake)");
  }

  private scheduleResume(): void {
    if (this.resumeTimer !== undefined) return;
    this.resumeTimer = Timer.set(() => {
      this.resumeTimer = undefined;
      const tcp = this.tcp;
      if (this.state === "closed" || !tcp || tcp.realReadable <= 0) return;
      tcp.resume(tcp.realReadable);
    }, 0);
  }

  // ---- writing ----

  private postDrain(): void {
    if (this.drainPosted) return;
    this.drainPosted = true;
    later(() => {
      this.drainPosted = false;
      this.drain();
    });
  }

  /** Writes queued bytes while the socket has room, as records of up to maxRecordBytes. */
  private drain(): void {
    const tls = this.tls;
    if (!tls || this.state !== "open") return;
    this.enter(() => {
      while (this.queuedBytes > 0) {
        const room = Math.min(this.writable, this.settings.maxRecordBytes);
        if (room < Math.min(this.queuedBytes, MIN_RECORD)) return;
        const record = this.take(Math.min(room, this.queuedBytes));
        const left = tls.write(record);
        this.writable = typeof left === "number" && left > WRITE_MARGIN ? left - WRITE_MARGIN : 0;
      }
    });
  }

  /** The next `size` queued bytes (a view when one buffer holds them, else a coalesced copy). */
  private take(size: number): Uint8Array {
    const head = this.queue[0]!;
    let out: Uint8Array;
    if (head.byteLength - this.queueOffset >= size) {
      out = head.subarray(this.queueOffset, this.queueOffset + size);
      this.queueOffset += size;
      if (this.queueOffset === head.byteLength) {
        this.queue.shift();
        this.queueOffset = 0;
      }
    } else {
      out = new Uint8Array(size);
      let filled = 0;
      while (filled < size) {
        const buffer = this.queue[0]!;
        const n = Math.min(size - filled, buffer.byteLength - this.queueOffset);
        out.set(buffer.subarray(this.queueOffset, this.queueOffset + n), filled);
        filled += n;
        this.queueOffset += n;
        if (this.queueOffset === buffer.byteLength) {
          this.queue.shift();
          this.queueOffset = 0;
        }
      }
    }
    this.queuedBytes -= size;
    return out;
  }

  // ---- events and closing ----

  /** Queues a handler call; all run in order from one promise job, and none after onClose. */
  private post(event: () => void): void {
    this.events.push(event);
    if (this.eventsPosted) return;
    this.eventsPosted = true;
    later(() => {
      this.eventsPosted = false;
      while (this.events.length > 0) {
        const next = this.events.shift()!;
        if (this.reported) continue;
        try {
          next();
        } catch (error) {
          this.log("warn", "socket handler failed", { error: errorText(error) });
        }
      }
    });
  }

  /** Ends the connection once; onClose(reason) follows as the last event. */
  private fail(reason: string): void {
    if (this.state === "closed") return;
    // The handshake throws a generic "certificate: auth err": say why instead.
    if (reason !== "closed") reason = refusalText(this.verdict) ?? reason;
    const lease = this.lease;
    this.lease = undefined;
    // A connection that never got established, or whose TLS layer failed, leaves no session to resume; one that
    // was open and then closed (by either side, or a dropped link) keeps it.
    if (lease) safely(() => closeSessionLease(lease, this.state !== "open" || this.tlsFailed));
    this.state = "closed";
    this.queue.length = 0;
    this.queuedBytes = 0;
    this.queueOffset = 0;
    if (this.resumeTimer !== undefined) Timer.clear(this.resumeTimer);
    this.resumeTimer = undefined;
    const tls = this.tls;
    this.tls = undefined;
    this.tcp = undefined;
    if (tls) {
      // Closing the TLS socket beneath one of its own callbacks would leave it working on a closed socket.
      if (this.depth > 0) Timer.set(() => safely(() => tls.close()), 0);
      else safely(() => tls.close());
    }
    if (reason !== "closed") this.log("debug", "closed", { host: this.options.host, reason });
    // Data already received is still delivered (it precedes the close); onClose is the last event.
    this.post(() => {
      this.reported = true;
      this.handlers.onClose(reason);
    });
  }

  /** Runs TLS/TCP work; nothing thrown here may reach the SDK (or the host below it). */
  private enter(body: () => void): void {
    this.depth++;
    try {
      body();
    } catch (error) {
      this.tlsFailed = true;
      this.log("warn", "exception in the TLS/TCP stack", { error: errorText(error) });
      this.fail(`${errorName(error)}: ${errorText(error)}`);
    } finally {
      this.depth--;
    }
  }

  private log(level: "debug" | "warn", message: string, fields?: Record<string, string | number | boolean | undefined>): void {
    try {
      this.settings.logger?.[level](message, fields);
    } catch {
      // logging never breaks the link
    }
  }

  /**
   * The TCP socket class handed to the TLS socket: every callback guarded (an exception becomes the close reason),
   * and the byte count the TLS socket keeps on it (`readable`) hideable — see onReadable.
   */
  private guardedTcpClass(): SdkSocketConstructor {
    const connection = this;
    return class GuardedTCP extends SocketDelegate implements TcpWrapper {
      #readable = 0;
      hideReadable = false;
      // The TLS layer keeps its estimate of the writable byte count here.
      writable = 0;
      readonly resume: (count: number) => void;

      constructor(options: SdkSocketOptions) {
        super();
        const { onReadable, onWritable, onError } = options;
        const guard =
          (handler: ((count: number) => void) | undefined) =>
          (count: number): void => {
            if (connection.state === "closed" || !handler) return;
            connection.enter(() => handler(count));
          };
        this.resume = guard(onReadable);
        connection.tcp = this;
        this.socket = new TcpSocketClass({
          ...options,
          onReadable: guard(onReadable),
          onWritable: guard(onWritable),
          onError: () => {
            if (connection.state === "closed") return;
            connection.enter(() => onError?.());
          },
        });
      }
      get readable(): number {
        return this.hideReadable ? 0 : this.#readable;
      }
      set readable(value: number) {
        this.#readable = value;
      }
      get realReadable(): number {
        return this.#readable;
      }
    };
  }
}

// ---- helpers ----------------------------------------------------------------------------------------------------

function errorName(error: unknown): string {
  // The SDK's TLSError is named "TLS".
  return error instanceof Error && error.name ? error.name : "Error";
}

/** Runs `body` as a promise job: after the current callback has returned, on a fresh stack, in FIFO order. */
function later(body: () => void): void {
  void Promise.resolve().then(() => safely(body));
}

