/**
 * HttpsClient port (src/ports/https.ts): whole responses (bootstrap), over the shared exchange (https-exchange.ts).
 * - `maxBodyBytes`: a larger Content-Length, or more body bytes than that, aborts the request (E2BIG); never a
 *   partial body.
 * - The response head is bounded (`maxResponseHeadBytes`, default 8192 bytes; see https-exchange.ts): E2BIG.
 * - HEAD: the client would wait for the body a Content-Length announces, so a HEAD request completes at the
 *   headers.
 */
import type { HttpsClient, HttpsRequest, HttpsResponse } from "ports/https";
import type { Logger } from "ports/logger";
import { DEFAULT_RESOLVE_TIMEOUT_MS } from "adapters/name-resolver";
import { HttpsExchange, HttpsRequestError } from "adapters/https-exchange";
import { concatBytes } from "core/bytes";
import { redactUrl } from "net/url-redaction";

export { HttpsRequestError, type HttpsErrorCode } from "adapters/https-exchange";

export interface ModdableHttpsClientOptions {
  /** Name look-up limit within the request's own timeout (default 10 s). */
  readonly resolveTimeoutMs?: number;
  /** Diagnostics (debug for request flow, warn for faults). */
  readonly logger?: Logger;
  /** Bound on the response head, status line and headers (default 8192 bytes); beyond it the request fails (E2BIG). */
  readonly maxResponseHeadBytes?: number;
}

export class ModdableHttpsClient implements HttpsClient {
  private readonly resolveTimeoutMs: number;
  private readonly logger: Logger | undefined;
  private readonly maxHeadBytes: number | undefined;

  constructor(options: ModdableHttpsClientOptions = {}) {
    this.resolveTimeoutMs = options.resolveTimeoutMs ?? DEFAULT_RESOLVE_TIMEOUT_MS;
    this.logger = options.logger;
    this.maxHeadBytes = options.maxResponseHeadBytes;
  }

  request(request: HttpsRequest): Promise<HttpsResponse> {
    return new Promise<HttpsResponse>((resolve, reject) => {
      if (!(request.maxBodyBytes >= 0)) {
        reject(new HttpsRequestError(`${request.method} https://${request.host}${redactUrl(request.path)}: maxBodyBytes must not be negative`, "EINVAL"));
        return;
      }
      new BufferedExchange(request, this.resolveTimeoutMs, this.logger, this.maxHeadBytes, resolve, reject).start();
    });
  }
}

/** Collects the body (up to maxBodyBytes) and resolves with the whole response. */
class BufferedExchange extends HttpsExchange {
  private readonly chunks: Uint8Array[] = [];
  private received = 0;

  constructor(
    private readonly whole: HttpsRequest,
    resolveTimeoutMs: number,
    logger: Logger | undefined,
    maxHeadBytes: number | undefined,
    private readonly resolve: (response: HttpsResponse) => void,
    private readonly reject: (error: Error) => void,
  ) {
    super(whole, resolveTimeoutMs, logger, "whole", maxHeadBytes);
  }

  protected head(_status: number, headers: Readonly<Record<string, string>>): void {
    const length = headers["content-length"];
    if (length !== undefined && Number(length) > this.whole.maxBodyBytes) {
      this.fail(`response body of ${length} bytes exceeds ${this.whole.maxBodyBytes} bytes`, "E2BIG");
      return;
    }
    if (this.whole.method === "HEAD") this.succeed();
  }

  protected body(count: number, read: (count: number) => Uint8Array | undefined): void {
    if (this.received + count > this.whole.maxBodyBytes) {
      this.fail(`response body exceeds ${this.whole.maxBodyBytes} bytes`, "E2BIG");
      return;
    }
    const bytes = read(count);
    if (!bytes) return;
    this.chunks.push(bytes);
    this.received += bytes.byteLength;
  }

  protected succeeded(): void {
    const body = this.chunks.length === 1 ? this.chunks[0]! : concatBytes(this.chunks);
    this.resolve({ status: this.status!, headers: this.headers, body });
  }

  protected failed(error: HttpsRequestError): void {
    this.reject(error);
  }
}
