/**
 * A tiny HTTP server port: what the setup page and its API need, served by a Node listener on the host and by the
 * SDK's HTTP server on the device. Adapters read at most `MAX_REQUEST_BODY_BYTES` of a body (413 beyond that)
 * and pass lower-case header names.
 */
export const MAX_REQUEST_BODY_BYTES = 2048;

export interface HttpRequest {
  readonly method: string;
  /** The path without the query, e.g. "/api/status". */
  readonly path: string;
  /** Lower-case names; repeated headers joined with ", ". */
  readonly headers: Readonly<Record<string, string>>;
  /** The body as text (UTF-8); "" for none. */
  readonly body: string;
}

export interface HttpResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** Never rejects in practice: handlers turn their failures into 5xx responses. */
export type HttpHandler = (request: HttpRequest) => Promise<HttpResponse>;

export interface HttpListener {
  readonly port: number;
  close(): void;
}
