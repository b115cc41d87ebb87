import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { MAX_REQUEST_BODY_BYTES, type HttpHandler, type HttpListener, type HttpRequest } from "../../src/ports/http-server";

export interface NodeHttpListenOptions {
  /** Loopback only: the host's stand-in for the setup access point must not be reachable from the network. */
  readonly address?: "127.0.0.1" | "::1";
  /** 0 (default): a free port. */
  readonly port?: number;
  readonly onError?: (error: unknown) => void;
}

/**
 * The HTTP server port over node:http, for the setup page on the host. Bodies beyond MAX_REQUEST_BODY_BYTES are
 * answered 413 without being read further; requests time out after 30 s.
 */
export function listenHttp(handler: HttpHandler, options: NodeHttpListenOptions = {}): Promise<HttpListener> {
  const server = createServer((req, res) => void serve(handler, req, res, options.onError));
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  return new Promise<HttpListener>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.address ?? "127.0.0.1", () => {
      server.off("error", reject);
      const port = (server.address() as AddressInfo).port;
      resolve({
        port,
        close: () => {
          server.close();
          server.closeAllConnections();
        },
      });
    });
  });
}

async function serve(handler: HttpHandler, req: IncomingMessage, res: ServerResponse, onError?: (error: unknown) => void): Promise<void> {
  try {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_REQUEST_BODY_BYTES) {
        tooLarge = true;
        break;
      }
      chunks.push(chunk);
    }
    if (tooLarge) {
      res.writeHead(413, { "content-type": "application/json", connection: "close" }).end(JSON.stringify({ error: "body too large" }));
      return;
    }
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(", ") : value;
    }
    const url = req.url ?? "/";
    const query = url.indexOf("?");
    const request: HttpRequest = { method: req.method ?? "GET", path: query < 0 ? url : url.slice(0, query), headers, body: Buffer.concat(chunks).toString("utf8") };
    const response = await handler(request);
    const body = Buffer.from(response.body, "utf8");
    res.writeHead(response.status, { ...response.headers, "content-length": String(body.length) }).end(body);
  } catch (error) {
    onError?.(error);
    if (!res.headersSent) res.writeHead(500, { "content-type": "application/json" });
    res.end();
  }
}
