/**
 * HttpStreamClient port (src/ports/http-stream.ts): firmware images, far larger than RAM, handed on in the pieces
 * the TLS socket delivers, over the shared exchange (https-exchange.ts).
 * - `connectTimeoutMs` covers resolving, connecting, TLS and the response head; the body has no deadline here
 *   (OtaManager watches for stalls and aborts).
 * - The response head is bounded (`maxResponseHeadBytes`, default 8192 bytes; see https-exchange.ts): E2BIG.
 * - `rangeStart` sends `Range: bytes=N-`; the status (200 or 206) and Content-Range go to the caller unchanged.
 * - A body that ends early (the connection closed before Content-Length or the last chunk) is an error, never an
 *   end: a truncated image must not look complete. A body without any length ends with the connection.
 * - Handlers are never called from within `get()`; none after `abort()`.
 */
import type { HttpStream, HttpStreamClient, HttpStreamHandlers, HttpStreamRequest } from "ports/http-stream";
import type { Logger } from "ports/logger";
import { DEFAULT_RESOLVE_TIMEOUT_MS } from "adapters/name-resolver";
import { HttpsExchange, type HttpsRequestError } from "adapters/https-exchange";

export interface ModdableHttpStreamClientOptions {
  readonly resolveTimeoutMs?: number;
  readonly logger?: Logger;
  /** Bound on the response head, status line and headers (default 8192 bytes); beyond it the request fails (E2BIG). */
  readonly maxResponseHeadBytes?: number;
}

export class ModdableHttpStreamClient implements HttpStreamClient {
  private readonly resolveTimeoutMs: number;
  private readonly logger: Logger | undefined;
  private readonly maxHeadBytes: number | undefined;

  constructor(options: ModdableHttpStreamClientOptions = {}) {
    this.resolveTimeoutMs = options.resolveTimeoutMs ?? DEFAULT_RESOLVE_TIMEOUT_MS;
    this.logger = options.logger;
    this.maxHeadBytes = options.maxResponseHeadBytes;
  }

  get(request: HttpStreamRequest, handlers: HttpStreamHandlers): HttpStream {
    const headers: Record<string, string> = { ...(request.headers ?? {}) };
    if (request.rangeStart !== undefined && request.rangeStart > 0) headers.range = `bytes=${request.rangeStart}-`;
    const exchange = new StreamingExchange(
      {
        host: request.host,
        port: request.port,
        ...(request.route ? { route: request.route } : {}),
        method: "GET",
        path: request.path,
        headers,
        ca: request.ca,
        ...(request.client ? { client: request.client } : {}),
        timeoutMs: request.connectTimeoutMs,
      },
      this.resolveTimeoutMs,
      this.logger,
      this.maxHeadBytes,
      handlers,
    );
    // Started from a promise job: even a request refused at once is reported after get() has returned.
    void Promise.resolve().then(() => exchange.begin());
    return { abort: () => exchange.abort() };
  }
}

class StreamingExchange extends HttpsExchange {
  private aborted = false;

  constructor(
    request: ConstructorParameters<typeof HttpsExchange>[0],
    resolveTimeoutMs: number,
    logger: Logger | undefined,
    maxHeadBytes: number | undefined,
    private readonly handlers: HttpStreamHandlers,
  ) {
    super(request, resolveTimeoutMs, logger, "head", maxHeadBytes);
  }

  begin(): void {
    if (!this.aborted) this.start();
  }

  override abort(): void {
    this.aborted = true;
    super.abort();
  }

  protected head(status: number, headers: Readonly<Record<string, string>>): void {
    this.handlers.onResponse(status, headers);
  }

  protected body(count: number, read: (count: number) => Uint8Array | undefined): void {
    const bytes = read(count);
    if (bytes && bytes.byteLength > 0) this.handlers.onData(bytes);
  }

  protected succeeded(): void {
    this.handlers.onEnd();
  }

  protected failed(error: HttpsRequestError): void {
    this.handlers.onError(error);
  }
}
