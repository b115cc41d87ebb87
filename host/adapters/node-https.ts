import { request as httpsRequest, type RequestOptions } from "node:https";
import type { IncomingHttpHeaders, IncomingMessage } from "node:http";
import type { HttpsClient, HttpsRequest, HttpsResponse } from "../../src/ports/https";
import { redactUrl, redactUrlsIn } from "../../src/net/url-redaction";
import { DEFAULT_MAX_RESPONSE_HEAD_BYTES, ResponseHeadLimit, responseHeadTooLarge } from "../../src/net/response-head";
import { deviceTlsOptions } from "./node-tls";

/** Why a host HTTPS request failed (network, TLS, timeout, over-size); the message says which, never with a URL's query. */
export class HttpsRequestError extends Error {
  override readonly name = "HttpsRequestError";
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(redactUrlsIn(message));
  }
}

/** `METHOD https://host:port/path?…`: a request named in an error message, without its query (a SAS token). */
export function requestLabel(method: string, request: { readonly host: string; readonly port: number; readonly path: string }): string {
  return `${method} https://${request.host}:${request.port}${redactUrl(request.path)}`;
}

export function lowerCaseHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    out[name.toLowerCase()] = Array.isArray(value) ? value.join(", ") : value;
  }
  return out;
}

/** Options of both host HTTPS adapters. */
export interface NodeHttpsOptions {
  /** Bound on the response head, status line and headers (default 8192 bytes); beyond it the request fails (E2BIG). */
  readonly maxResponseHeadBytes?: number;
}

/**
 * The error for a response head over the bound, or undefined. Node's parser stops at about the bound already
 * (`maxHeaderSize`, which leaves the status line out of its count); this checks the head it parsed exactly as the
 * device counts it: status line, `name: value` per field, CRLFs.
 */
export function oversizedHead(res: IncomingMessage, maxBytes: number): HttpsRequestError | undefined {
  const fields: Array<[string, string]> = [];
  for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) fields.push([res.rawHeaders[i]!, res.rawHeaders[i + 1]!]);
  const limit = new ResponseHeadLimit(maxBytes);
  return limit.check(`HTTP/${res.httpVersion} ${res.statusCode ?? 0} ${res.statusMessage ?? ""}`, fields) ? undefined : new HttpsRequestError(limit.message, "E2BIG");
}

/** A request error from node:https as an HttpsRequestError (a head over `maxHeaderSize`: E2BIG). */
export function requestError(error: NodeJS.ErrnoException, maxHeadBytes: number): HttpsRequestError {
  if (error.code === "HPE_HEADER_OVERFLOW") return new HttpsRequestError(responseHeadTooLarge(maxHeadBytes), "E2BIG");
  return new HttpsRequestError(`${error.code ? `${error.code}: ` : ""}${error.message}`, error.code);
}

/** The request's Host header (with the port unless it is 443) and its own headers, names in lower case. */
export function requestHeaders(request: { readonly host: string; readonly port: number; readonly headers?: Readonly<Record<string, string>> }): Record<string, string> {
  const headers: Record<string, string> = { host: request.port === 443 ? request.host : `${request.host}:${request.port}` };
  for (const [name, value] of Object.entries(request.headers ?? {})) headers[name.toLowerCase()] = value;
  return headers;
}

/**
 * node:https options shared by both HTTPS adapters: a fresh connection (no agent) to the route or the host, the
 * device's TLS options (node-tls.ts: the roots, the logical host name also when `route` sends the socket
 * elsewhere, SNI only for DNS names, an optional client certificate, TLS 1.2+), the response head bounded.
 */
export function tlsRequestOptions(
  request: Pick<HttpsRequest, "host" | "port" | "route" | "path" | "ca" | "client">,
  method: string,
  headers: Record<string, string>,
  maxHeadBytes: number = DEFAULT_MAX_RESPONSE_HEAD_BYTES,
): RequestOptions {
  return {
    maxHeaderSize: maxHeadBytes,
    host: request.route?.address ?? request.host,
    port: request.route?.port ?? request.port,
    ...deviceTlsOptions({ serverName: request.host, ca: request.ca, certificate: request.client?.certificate, key: request.client?.key }),
    method,
    path: request.path,
    headers,
    agent: false,
  };
}

/**
 * HTTPS port over node:https: one fresh TLS connection per request (no agent, no pooling), the
 * certificate checked against the given roots and the logical host name (also when `route` sends the
 * socket elsewhere), an optional client certificate, one deadline from connect to the last byte, and
 * a bounded head and body. Any status resolves; everything else rejects with HttpsRequestError.
 */
export class NodeHttpsClient implements HttpsClient {
  private readonly maxHeadBytes: number;

  constructor(options: NodeHttpsOptions = {}) {
    this.maxHeadBytes = options.maxResponseHeadBytes ?? DEFAULT_MAX_RESPONSE_HEAD_BYTES;
  }

  request(request: HttpsRequest): Promise<HttpsResponse> {
    const maxHeadBytes = this.maxHeadBytes;
    return new Promise((resolve, reject) => {
      let settled = false;
      const headers = requestHeaders(request);
      if (request.body) headers["content-length"] = String(request.body.length);

      const req = httpsRequest(tlsRequestOptions(request, request.method, headers, maxHeadBytes));

      const finish = (error: Error | undefined, response?: HttpsResponse): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (error) {
          req.destroy();
          reject(error);
        } else resolve(response!);
      };
      const timer = setTimeout(
        () => finish(new HttpsRequestError(`timed out after ${request.timeoutMs} ms (${requestLabel(request.method, request)})`, "ETIMEDOUT")),
        request.timeoutMs,
      );

      req.on("error", (error: NodeJS.ErrnoException) => finish(requestError(error, maxHeadBytes)));
      req.on("response", (res) => {
        const oversized = oversizedHead(res, maxHeadBytes);
        if (oversized) return finish(oversized);
        const tooLarge = (): HttpsRequestError => new HttpsRequestError(`response body exceeds ${request.maxBodyBytes} bytes`, "E2BIG");
        const declared = Number(res.headers["content-length"]);
        if (Number.isFinite(declared) && declared > request.maxBodyBytes) return finish(tooLarge());
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size > request.maxBodyBytes) return finish(tooLarge());
          chunks.push(chunk);
        });
        res.on("error", (error) => finish(new HttpsRequestError(`response failed: ${error.message}`)));
        res.on("end", () =>
          finish(undefined, {
            status: res.statusCode ?? 0,
            headers: lowerCaseHeaders(res.headers),
            body: new Uint8Array(Buffer.concat(chunks, size)),
          }),
        );
        res.on("close", () => finish(new HttpsRequestError("connection closed before the response was complete", "ECONNRESET")));
      });
      req.end(request.body ? Buffer.from(request.body) : undefined);
    });
  }
}
