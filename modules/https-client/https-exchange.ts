/**
 * One HTTPS exchange over the SDK's ECMA-419 HTTP client (`embedded:network/http/client`, examples/io/tcp/httpclient
 * in SDK 8.2.3) on the ECMA-419 TLS socket (`embedded:io/socket/tcp/tls`): the common part of the HttpsClient
 * (https-client.ts, whole responses) and HttpStreamClient (http-stream.ts, firmware images) adapters.
 *
 * One request per connection: resolve (or take `request.route`), TCP, TLS (mutual when `request.client` is
 * given), one request, the response, close. What the ports require and how it is met:
 * - TLS: the server's certificates are judged by the project's path validator against exactly `request.ca`
 *   (socket-support `tlsSecure`, modules/tls-trust); a refusal fails the request with ETLS "certificate refused:
 *   <reason> at <position>: <detail>" and a warn line, before the request is written. `clientCertificates` =
 *   [device certificate DER], `clientKey` = PKCS#8 DER; `serverName` = `request.host` (SNI and the certificate
 *   check, also when `route` sends the socket elsewhere).
 * - `route`: the connection goes to route.address:route.port; Host header, SNI and certificate check keep the
 *   logical name.
 * - Timeout (ETIMEDOUT, the client closed): DNS to the last byte for whole responses; DNS to the response head
 *   for streams.
 * - Header names in lower case (the client lower-cases them; this adapter does it again).
 * - No redirects: the client never follows them; a 3xx resolves like any other status.
 * - The response head (status line + header lines + the empty line) is bounded (`maxHeadBytes`, default 8192):
 *   the client reads the head from the TLS socket one byte at a time (format "number") and keeps it in strings
 *   and a Map until the empty line, so every such read is counted (net/response-head) and the one past the bound
 *   throws inside the guarded socket callback: the request fails with E2BIG before the client has more than
 *   `maxHeadBytes` + 1 bytes of head. The head the client hands to onHeaders is checked against the same bound.
 * - A body without Content-Length or chunked encoding ends when the server closes the connection; the client
 *   reports that as an error, which this adapter reads as the end of the body.
 *
 * Containment: exceptions thrown inside the TLS layer (e.g. a rejected certificate, thrown out of the
 * handshake) or the client's response parser during a socket callback are caught at the TCP and TLS callbacks
 * and reject the request; the VM is never aborted from there. Left: the TLS socket and the HTTP client also
 * continue work from their own zero-delay timers (TLS: buffered records; client: chunked bodies, completion);
 * an exception there would still reach the host. Not seen in testing.
 *
 * Why the ECMA-419 client and not the legacy `http` Request: it takes the ECMA-419 TLS socket, the same one the
 * MQTT connector uses (one TLS stack, one way to pass `secure`), lets this adapter choose the address (route)
 * apart from the host name, and hands over the body in pieces the adapter can count and refuse.
 */
import HTTPClient from "embedded:network/http/client";
import Timer from "timer";
import type { HttpsRequest } from "ports/https";
import type { Logger } from "ports/logger";
import { redactUrl, redactUrlsIn } from "net/url-redaction";
import { DEFAULT_MAX_RESPONSE_HEAD_BYTES, ResponseHeadLimit } from "net/response-head";
import { isIPv4, resolveIPv4 } from "adapters/name-resolver";
import { SocketDelegate, TcpSocketClass, TlsSocketClass, errorText as message, refusalText, safely, tlsSecure, type Bytes, type SdkSocketConstructor, type SdkSocketOptions } from "adapters/socket-support";

// ---- the client's and the sockets' real API (narrow local types) --------------------------------------------

interface ClientRequest {
  read(count: number): ArrayBuffer | undefined;
  write(data: Bytes | undefined): number;
}

interface RequestOptions {
  readonly method: string;
  readonly path: string;
  readonly headers: Map<string, string>;
  onHeaders(this: ClientRequest, status: number, headers: Map<string, string>, statusText?: string): void;
  onReadable(this: ClientRequest, count: number): void;
  onWritable(this: ClientRequest, count: number): void;
  onDone(this: ClientRequest, error: Error | null): void;
}

interface Client {
  request(options: RequestOptions): ClientRequest;
  close(): void;
}

interface ResolveRequest {
  readonly host: string;
  onResolved(host: string, address: string): void;
  onError(host: string): void;
}

interface ClientOptions {
  /** Sent as the Host header and passed to the resolver. */
  readonly host: string;
  readonly port: number;
  readonly dns: { readonly io: new (options: object) => { resolve(request: ResolveRequest): void; close(): void } };
  readonly socket: Record<string, unknown>;
  readonly onError: (error?: unknown) => void;
}

const Client = HTTPClient as unknown as new (options: ClientOptions) => Client;


// ---- errors -----------------------------------------------------------------------------------------------------

export type HttpsErrorCode = "EINVAL" | "ENOTFOUND" | "ECONNECT" | "ETLS" | "EPROTO" | "ETIMEDOUT" | "E2BIG" | "EINTERNAL";

/** Why a request failed; the message says which request and what happened (never with a URL's query). */
export class HttpsRequestError extends Error {
  // A class field, not `this.name = ...`: on Moddable Error.prototype is frozen and that assignment throws.
  override readonly name = "HttpsRequestError";
  constructor(
    message: string,
    readonly code: HttpsErrorCode,
  ) {
    super(redactUrlsIn(message));
  }
}

// ---- one request ----------------------------------------------------------------------------------------------

/** What an exchange needs of a request (HttpsRequest without the body limit; the stream client has no method). */
export type ExchangeRequest = Omit<HttpsRequest, "maxBodyBytes">;

/**
 * One request on one connection. Subclasses decide what happens to the response: `head` (may fail the
 * exchange), `body` (bytes readable), `succeeded` and `failed` (exactly one of them, once, unless aborted).
 */
export abstract class HttpsExchange {
  protected settled = false;
  private client: Client | undefined;
  private timer: Timer | undefined;
  /** Nesting of client/socket callbacks: closing the client from inside one is deferred. */
  private depth = 0;
  /** What went wrong below the client (it reports every failure as an empty Error). */
  private fault: { readonly message: string; readonly code: HttpsErrorCode } | undefined;
  protected status: number | undefined;
  protected headers: Record<string, string> = {};
  private closeDelimited = false;
  protected readonly label: string;
  private readonly headLimit: ResponseHeadLimit;

  /**
   * `timeoutMs`: the whole exchange must complete within `request.timeoutMs`; "head": only resolving,
   * connecting, TLS and the response head (a stream's body has no deadline; its reader watches for stalls).
   * `maxHeadBytes`: the bound on the response head (status line and headers).
   */
  constructor(
    protected readonly request: ExchangeRequest,
    private readonly resolveTimeoutMs: number,
    private readonly logger: Logger | undefined,
    private readonly deadline: "whole" | "head",
    maxHeadBytes: number = DEFAULT_MAX_RESPONSE_HEAD_BYTES,
  ) {
    this.headLimit = new ResponseHeadLimit(maxHeadBytes);
    // Every log line and error message names the request by this label: without the query (a firmware URL's SAS token).
    this.label = `${request.method} https://${request.host}${request.port === 443 ? "" : `:${request.port}`}${redactUrl(request.path)}`;
  }

  start(): void {
    const r = this.request;
    try {
      if (!(r.timeoutMs > 0)) throw new HttpsRequestError(`${this.label}: the timeout must be positive`, "EINVAL");
      if (!r.path.startsWith("/")) throw new HttpsRequestError(`${this.label}: the path must start with "/"`, "EINVAL");
      if (r.ca.length === 0) throw new HttpsRequestError(`${this.label}: no trusted root certificate`, "EINVAL");
      this.timer = Timer.set(() => {
        this.timer = undefined;
        this.fail(`timed out after ${r.timeoutMs} ms`, "ETIMEDOUT");
      }, r.timeoutMs);

      const target = r.route ?? { address: undefined, port: r.port };
      const headers = new Map<string, string>();
      for (const name of Object.keys(r.headers ?? {})) {
        const lower = name.toLowerCase();
        // The client writes Host itself; Content-Length is the body's.
        if (lower === "host" || lower === "content-length" || lower === "transfer-encoding") continue;
        headers.set(lower, r.headers![name]!);
      }
      if (r.body !== undefined) headers.set("content-length", String(r.body.byteLength));
      headers.set("connection", "close");

      const secure = tlsSecure(r.ca, r.host, r.client, (verdict) => {
        const refusal = refusalText(verdict);
        if (refusal === undefined || this.settled) return;
        this.fault ??= { message: refusal, code: "ETLS" };
        this.log("warn", "server certificate refused", { request: this.label, reason: verdict.ok ? undefined : verdict.reason });
      });

      this.client = new Client({
        // Host header: the logical name, with the port unless it is the default one.
        host: r.port === 443 ? r.host : `${r.host}:${r.port}`,
        port: target.port,
        dns: { io: this.resolverClass(target.address) },
        socket: { io: this.guardedTlsClass(), TCP: { io: this.guardedTcpClass() }, nodelay: true, secure },
        // Called after onDone, with the client's own Error for a malformed response (socket errors: no argument).
        onError: (error?: unknown) =>
          this.callback(() => {
            if (error instanceof Error && error.message) this.fault ??= { message: `bad HTTP response: ${error.message}`, code: "EPROTO" };
            this.failFromClient();
          }),
      });
      const exchange = this;
      let bodyWritten = 0;
      this.client.request({
        method: r.method,
        path: r.path,
        headers,
        onHeaders(status, responseHeaders, statusText) {
          exchange.callback(() => exchange.onHeaders(status, responseHeaders, statusText));
        },
        onReadable(count) {
          exchange.callback(() => exchange.onReadable(this, count));
        },
        onWritable(count) {
          exchange.callback(() => {
            const body = r.body;
            if (!body || exchange.settled) return;
            const end = Math.min(body.byteLength, bodyWritten + count);
            if (end <= bodyWritten) return;
            this.write(body.subarray(bodyWritten, end));
            bodyWritten = end;
          });
        },
        onDone(error) {
          if (!error) exchange.callback(() => exchange.succeed());
          // The client says only "failed"; its onError, right after this, may say why. Decide after it.
          else Promise.resolve().then(() => exchange.callback(() => exchange.failFromClient()));
        },
      });
      this.log("debug", "request", { request: this.label, to: r.route ? `${r.route.address}:${r.route.port}` : undefined });
    } catch (error) {
      if (error instanceof HttpsRequestError) {
        this.finish();
        this.failed(error);
      } else this.fail(`could not start: ${message(error)}`, "EINTERNAL");
    }
  }

  // ---- client callbacks (run inside `callback`) ----

  private onHeaders(status: number, headers: Map<string, string>, statusText: string | undefined): void {
    if (this.settled) return;
    const record: Record<string, string> = {};
    const fields: Array<[string, string]> = [];
    headers.forEach((value, name) => {
      record[String(name).toLowerCase()] = String(value);
      fields.push([String(name), String(value)]);
    });
    // The client's statusText still ends with the line's CRLF (its values are trimmed, its names lower-cased).
    if (!this.headLimit.check(`HTTP/1.1 ${status} ${(statusText ?? "").trim()}`, fields)) return this.fail(this.headLimit.message, "E2BIG");
    this.headLimit.end();
    this.status = status;
    this.headers = record;
    const chunked = (record["transfer-encoding"] ?? "").toLowerCase().includes("chunked");
    this.closeDelimited = record["content-length"] === undefined && !chunked;
    if (this.deadline === "head" && this.timer !== undefined) {
      Timer.clear(this.timer);
      this.timer = undefined;
    }
    this.head(status, record);
  }

  private onReadable(request: ClientRequest, count: number): void {
    if (this.settled || count <= 0) return;
    this.body(count, (n) => {
      const data = request.read(n);
      return data ? new Uint8Array(data) : undefined;
    });
  }

  /** The response head arrived (names in lower case). May call `fail` or `succeed` (e.g. HEAD). */
  protected abstract head(status: number, headers: Readonly<Record<string, string>>): void;
  /** `count` body bytes are readable with `read` (call it now, or fail). */
  protected abstract body(count: number, read: (count: number) => Uint8Array | undefined): void;
  /** The body is complete. */
  protected abstract succeeded(): void;
  protected abstract failed(error: HttpsRequestError): void;

  /** The client reported a failure (always an empty Error): say what it was, as far as known. */
  private failFromClient(): void {
    if (this.settled) return;
    if (this.fault) return this.fail(this.fault.message, this.fault.code);
    if (this.status !== undefined && this.closeDelimited) return this.succeed(); // body ended by the close
    if (this.status !== undefined) return this.fail("connection closed before the response was complete", "EPROTO");
    this.fail("connection failed or closed before a response (network or TLS)", "ECONNECT");
  }

  protected succeed(): void {
    if (this.settled) return;
    if (this.status === undefined) return this.fail("no response", "EPROTO");
    this.log("debug", "response", { request: this.label, status: this.status });
    this.finish();
    this.succeeded();
  }

  protected fail(reason: string, code: HttpsErrorCode): void {
    if (this.settled) return;
    this.log("debug", "request failed", { request: this.label, reason, code });
    this.finish();
    this.failed(new HttpsRequestError(`${this.label}: ${reason}`, code));
  }

  /** Closes the connection; no hook is called afterwards. */
  abort(): void {
    this.finish();
  }

  private finish(): void {
    if (this.settled) return;
    this.settled = true;
    if (this.timer !== undefined) Timer.clear(this.timer);
    this.timer = undefined;
    const client = this.client;
    this.client = undefined;
    if (client) {
      // Closing the client from inside one of its callbacks would leave it working on a closed socket.
      if (this.depth > 0) Timer.set(() => safely(() => client.close()), 0);
      else safely(() => client.close());
    }
  }

  /** Runs a client or socket callback; nothing thrown here may reach the client (or the host below it). */
  private callback(body: () => void): void {
    this.depth++;
    try {
      body();
    } catch (error) {
      this.log("warn", "HTTP callback failed", { request: this.label, error: message(error) });
      this.fail(`internal error: ${message(error)}`, "EINTERNAL");
    } finally {
      this.depth--;
    }
  }

  protected log(level: "debug" | "warn", text: string, fields?: Record<string, string | number | undefined>): void {
    try {
      this.logger?.log(level, "https", text, fields);
    } catch {
      // logging never breaks a request
    }
  }

  // ---- resolver and socket classes bound to this request ----

  /** An ECMA-419-style resolver: the route's address, or the system resolver. Always answers asynchronously. */
  private resolverClass(routeAddress: string | undefined): ClientOptions["dns"]["io"] {
    const exchange = this;
    const host = this.request.host;
    const timeoutMs = this.resolveTimeoutMs;
    return class Resolver {
      resolve(request: ResolveRequest): void {
        const lookup = routeAddress !== undefined && isIPv4(routeAddress) ? Promise.resolve(routeAddress) : resolveIPv4(routeAddress ?? host, timeoutMs);
        lookup.then(
          (address) => {
            if (exchange.settled) return;
            exchange.callback(() => request.onResolved(request.host, address));
          },
          (error: unknown) => {
            if (exchange.settled) return;
            exchange.fault ??= { message: message(error), code: "ENOTFOUND" };
            exchange.callback(() => request.onError(request.host));
          },
        );
      }
      close(): void {}
    };
  }

  /** The TLS socket the client uses, with the client's callbacks guarded (its parser throws on bad input). */
  private guardedTlsClass(): SdkSocketConstructor {
    const exchange = this;
    return class GuardedTLS extends SocketDelegate {
      /**
       * The client reads the response head with `read()` in format "number", one byte per call, and keeps it
       * until the empty line: count those bytes, and stop the client (throw, inside the guarded onReadable
       * below, which fails the request with this fault) at the first one past the bound.
       */
      override read(into?: number | Bytes): unknown {
        const value = super.read(into);
        const limit = exchange.headLimit;
        if (into === undefined && typeof value === "number" && !limit.complete && !limit.add(1)) {
          exchange.fault ??= { message: limit.message, code: "E2BIG" };
          throw new Error(limit.message);
        }
        return value;
      }
      constructor(options: SdkSocketOptions) {
        super();
        const guard =
          (handler: ((count: number) => void) | undefined) =>
          (count: number): void => {
            if (exchange.settled || !handler) return;
            exchange.depth++;
            try {
              handler(count);
            } catch (error) {
              exchange.fault ??= { message: `bad HTTP response: ${message(error)}`, code: "EPROTO" };
              exchange.fail(exchange.fault.message, exchange.fault.code);
            } finally {
              exchange.depth--;
            }
          };
        this.socket = new TlsSocketClass({
          ...options,
          onReadable: guard(options.onReadable),
          onWritable: guard(options.onWritable),
          onError: exchange.guardedError(options.onError),
        });
      }
    };
  }

  /** The TCP socket under TLS, with its callbacks guarded: an exception in the TLS layer fails the request. */
  private guardedTcpClass(): SdkSocketConstructor {
    const exchange = this;
    return class GuardedTCP extends SocketDelegate {
      // The TLS layer keeps its byte counts on the socket object.
      readable = 0;
      writable = 0;
      constructor(options: SdkSocketOptions) {
        super();
        const { onReadable, onWritable, onError } = options;
        let connected = false;
        const guard =
          (handler: ((count: number) => void) | undefined, writable: boolean) =>
          (count: number): void => {
            if (writable) connected = true;
            if (exchange.settled || !handler) return;
            exchange.depth++;
            try {
              handler(count);
            } catch (error) {
              // Thrown by the TLS layer (handshake: untrusted or mismatched certificate, alerts) or above it.
              exchange.fault ??= { message: `TLS failure: ${message(error)}`, code: "ETLS" };
              exchange.fail(exchange.fault.message, exchange.fault.code);
            } finally {
              exchange.depth--;
            }
          };
        const guardedError = exchange.guardedError(onError);
        this.socket = new TcpSocketClass({
          ...options,
          onReadable: guard(onReadable, false),
          onWritable: guard(onWritable, true),
          onError: () => {
            if (!exchange.settled && !connected) exchange.fault ??= { message: `cannot connect to ${String(options.address)}:${String(options.port)}`, code: "ECONNECT" };
            guardedError();
          },
        });
      }
    };
  }

  /** A socket's onError for the layer above, guarded. */
  private guardedError(onError: (() => void) | undefined): () => void {
    return () => {
      if (this.settled) return;
      this.depth++;
      try {
        onError?.();
      } catch (error) {
        this.fail(`internal error: ${message(error)}`, "EINTERNAL");
      } finally {
        this.depth--;
      }
    };
  }
}
