import type { TlsCredentials } from "./mqtt";

/** One HTTPS request. The body is read whole, bounded by `maxBodyBytes` (streaming comes with OTA). */
export interface HttpsRequest {
  /** Host name: DNS, SNI and certificate check. */
  readonly host: string;
  readonly port: number;
  /** Connect here instead of resolving host:port (a local run); host is still used for SNI and the certificate. */
  readonly route?: { readonly address: string; readonly port: number };
  readonly method: "GET" | "POST" | "PUT" | "HEAD";
  /** Path and query, starting with "/". */
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: Uint8Array;
  /** Trusted roots (adapter encoding: PEM on the host, DER on the device). */
  readonly ca: readonly Uint8Array[];
  /** Client certificate for mutual TLS, when the service wants one. */
  readonly client?: Pick<TlsCredentials, "certificate" | "key">;
  /** Whole request, connect to last byte. */
  readonly timeoutMs: number;
  /** A larger response body is an error, never a partial result. */
  readonly maxBodyBytes: number;
}

export interface HttpsResponse {
  readonly status: number;
  /** Header names in lower case. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array;
}

export interface HttpsClient {
  /** Rejects on network, TLS (untrusted or mismatched certificate), timeout or over-size errors; any status resolves. */
  request(request: HttpsRequest): Promise<HttpsResponse>;
}
