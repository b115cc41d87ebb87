import { request as httpsRequest, type RequestOptions } from "node:https";
import { isIP } from "node:net";
import { checkServerIdentity, type PeerCertificate } from "node:tls";
import type { IncomingHttpHeaders } from "node:http";
import type { HttpsClient, HttpsRequest, HttpsResponse } from "../../src/ports/https";
import { redactUrl, redactUrlsIn } from "../../src/net/url-redaction";

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

/** The request's Host header (with the port unless it is 443) and its own headers, names in lower case. */
export function requestHeaders(request: { readonly host: string; readonly port: number; readonly headers?: Readonly<Record<string, string>> }): Record<string, string> {
  const headers: Record<string, string> = { host: request.port === 443 ? request.host : `${request.host}:${request.port}` };
  for (const [name, value] of Object.entries(request.headers ?? {})) headers[name.toLowerCase()] = value;
  return headers;
}

/**
 * node:https options shared by both HTTPS adapters: a fresh connection (no agent) to the route or the host, the
 * certificate checked against the given roots and the logical host name (also when `route` sends the socket
 * elsewhere; SNI only for DNS names), an optional client certificate, TLS 1.2+.
 */
export function tlsRequestOptions(request: Pick<HttpsRequest, "host" | "port" | "route" | "path" | "ca" | "client">, method: string, headers: Record<string, string>): RequestOptions {
  return {
    host: request.route?.address ?? request.host,
    port: request.route?.port ?? request.port,
    ...(isIP(request.host) ? {} : { servername: request.host }),
    checkServerIdentity: (_name: string, cert: PeerCertificate) => checkServerIdentity(request.host, cert),
    method,
    path: request.path,
    headers,
    ca: request.ca.map((c) => Buffer.from(c)),
    ...(request.client ? { cert: Buffer.from(request.client.certificate), key: Buffer.from(request.client.key) } : {}),
    rejectUnauthorized: true,
    minVersion: "TLSv1.2",
    agent: false,
  };
}

/**
 * HTTPS port over node:https: one fresh TLS connection per request (no agent, no pooling), the
 * certificate checked against the given roots and the logical host name (also when `route` sends the
 * socket elsewhere), an optional client certificate, one deadline from connect to the last byte, and
 * a bounded body. Any status resolves; everything else rejects with HttpsRequestError.
 */
export class NodeHttpsClient implements HttpsClient {
  request(request: HttpsRequest): Promise<HttpsResponse> {
    return new Promise((resolve, reject) => {
      let settled = false;
      const headers = requestHeaders(request);
      if (request.body) headers["content-length"] = String(request.body.length);

      const req = httpsRequest(tlsRequestOptions(request, request.method, headers));

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

      req.on("error", (error: NodeJS.ErrnoException) => finish(new HttpsRequestError(`${error.code ? `${error.code}: ` : ""}${error.message}`, error.code)));
      req.on("response", (res) => {
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
