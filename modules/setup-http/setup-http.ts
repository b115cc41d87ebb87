/**
 * The setup page's HTTP listener on the Moddable SDK: the SDK's ECMA-419 HTTP server
 * (`embedded:network/http/server`, from examples/io/listener/httpserver, as the HTTP client comes from
 * examples/io/tcp/httpclient) over `embedded:io/socket/listener`. It answers asynchronously (a join takes seconds):
 * `onResponse` runs the portable handler and calls `respond` when its promise settles. Bodies beyond
 * MAX_REQUEST_BODY_BYTES are read and dropped and answered 413. The server speaks HTTP/1.1 only and closes each
 * connection after its response.
 *
 * esp32: listens on port 80 of every interface (the setup access point's 192.168.4.1). lin (mcsim): on the port
 * given, reached as 127.0.0.1:<port>.
 */
import HTTPServerModule from "embedded:network/http/server";
import Listener from "embedded:io/socket/listener";
import { MAX_REQUEST_BODY_BYTES, type HttpHandler, type HttpListener, type HttpRequest } from "ports/http-server";
import type { Logger } from "ports/logger";

// ---- the server's API (narrow local types: the registry typings lack this module) -----------------------------

interface ServerRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Map<string, string>;
}

interface ServerResponse {
  status: number;
  headers: Map<string, string | number>;
}

interface Connection {
  accept(handlers: Handlers): void;
  respond(response: ServerResponse): void;
  read(count?: number): ArrayBuffer | undefined;
  write(bytes: ArrayBuffer): number;
  close(): void;
}

interface Handlers {
  onRequest?(this: Connection, request: ServerRequest): void;
  onReadable?(this: Connection, count: number): void;
  onResponse?(this: Connection, response: ServerResponse): void;
  onWritable?(this: Connection, count: number): void;
  onDone?(this: Connection): void;
  onError?(this: Connection): void;
}

interface Server {
  close(): void;
  readonly port: number;
}

const HTTPServer = HTTPServerModule as unknown as new (options: { io: unknown; port?: number; onConnect(this: Server, connection: Connection): void }) => Server;

export function listenSetupHttp(handler: HttpHandler, options: { readonly port: number; readonly logger?: Logger }): HttpListener {
  const log = (level: "warn" | "debug", message: string) => {
    try {
      options.logger?.log(level, "setup-http", message);
    } catch {
      // logging never breaks the server
    }
  };
  const server = new HTTPServer({
    io: Listener,
    port: options.port,
    onConnect(connection) {
      let request: ServerRequest | undefined;
      const chunks: Uint8Array[] = [];
      let size = 0;
      let body: Uint8Array | undefined;
      let sent = 0;
      connection.accept({
        onRequest(r) {
          request = r;
        },
        onReadable(count) {
          const data = this.read(count);
          if (!data) return;
          size += data.byteLength;
          if (size <= MAX_REQUEST_BODY_BYTES) chunks.push(new Uint8Array(data));
        },
        onResponse(response) {
          const r = request;
          const tooLarge = size > MAX_REQUEST_BODY_BYTES;
          const answer = (status: number, headers: Readonly<Record<string, string>>, text: string) => {
            body = new TextEncoder().encode(text);
            response.status = status;
            for (const name of Object.keys(headers)) response.headers.set(name, headers[name]!);
            response.headers.set("content-length", body.byteLength);
            try {
              this.respond(response);
            } catch (error) {
              log("warn", `response failed: ${error instanceof Error ? error.message : String(error)}`);
            }
          };
          if (!r) return answer(400, { "content-type": "application/json" }, '{"error":"bad request"}');
          if (tooLarge) return answer(413, { "content-type": "application/json" }, '{"error":"body too large"}');
          const joined = new Uint8Array(Math.min(size, MAX_REQUEST_BODY_BYTES));
          let at = 0;
          for (const c of chunks) {
            joined.set(c, at);
            at += c.byteLength;
          }
          const query = r.path.indexOf("?");
          const headers: Record<string, string> = {};
          r.headers.forEach((value, name) => (headers[name] = value));
          const portable: HttpRequest = { method: r.method, path: query < 0 ? r.path : r.path.slice(0, query), headers, body: new TextDecoder().decode(joined) };
          handler(portable).then(
            (out) => answer(out.status, out.headers, out.body),
            (error: unknown) => {
              log("warn", `handler failed: ${error instanceof Error ? error.message : String(error)}`);
              answer(500, { "content-type": "application/json" }, '{"error":"internal error"}');
            },
          );
        },
        onWritable(count) {
          if (!body || sent >= body.byteLength) return;
          const n = Math.min(count, body.byteLength - sent);
          const piece = body.slice(sent, sent + n);
          sent += n;
          this.write(piece.buffer);
        },
        onError() {
          log("debug", "connection error");
        },
      });
    },
  });
  return {
    port: server.port,
    close: () => server.close(),
  };
}
