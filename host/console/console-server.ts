import { randomBytes, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { ConsoleApi, type ConsoleBackend } from "./console-api";
import { CONSOLE_PAGE } from "./console-page";

const MAX_BODY_BYTES = 96 * 1024;

export interface WebConsoleOptions {
  /** 0 (default): any free port. The console only ever listens on 127.0.0.1. */
  readonly port?: number;
  /** Default: 32 random bytes, hex. */
  readonly token?: string;
}

/**
 * The local web console of `npm start`: the simulated device (buttons, LEDs) and its hub side (telemetry,
 * twin, direct methods, cloud-to-device messages, firmware release), live over Server-Sent Events.
 *
 * It can reboot and reflash the device, so: it listens on 127.0.0.1 only; every /api/ request needs the token
 * (Authorization: Bearer, or ?token= for EventSource, which cannot set headers), compared in constant time; the
 * Host header must name the console itself (a DNS-rebinding page cannot reach it); a POST needs a JSON body
 * (a cross-site form cannot send one without a CORS preflight, which is never answered). The page itself is
 * static and holds no data: it reads the token from the URL fragment, which the browser never sends.
 */
export class WebConsole {
  private readonly api: ConsoleApi;
  private readonly streams = new Set<ServerResponse>();
  private unsubscribe: (() => void) | undefined;

  private constructor(
    private readonly server: Server,
    readonly port: number,
    readonly token: string,
    backend: ConsoleBackend,
  ) {
    this.api = new ConsoleApi(backend);
  }

  static async start(backend: ConsoleBackend, options: WebConsoleOptions = {}): Promise<WebConsole> {
    const token = options.token ?? randomBytes(32).toString("hex");
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
    });
    const console = new WebConsole(server, (server.address() as AddressInfo).port, token, backend);
    server.on("request", (req: IncomingMessage, res: ServerResponse) => void console.serve(req, res));
    console.unsubscribe = backend.onEvent((name, data) => console.broadcast(name, data));
    return console;
  }

  /** The address to open: the token travels in the fragment (never sent to the server, never in its logs). */
  get url(): string {
    return `http://127.0.0.1:${this.port}/#token=${this.token}`;
  }

  async close(): Promise<void> {
    this.unsubscribe?.();
    for (const res of this.streams) res.end();
    this.streams.clear();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private broadcast(name: string, data: unknown): void {
    const frame = `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const res of this.streams) res.write(frame);
  }

  private authorised(req: IncomingMessage, url: URL): boolean {
    const header = req.headers.authorization;
    const given = header?.startsWith("Bearer ") ? header.slice(7) : url.searchParams.get("token") ?? "";
    const a = Buffer.from(given);
    const b = Buffer.from(this.token);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const reply = (status: number, json: unknown): void => {
      res.writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" });
      res.end(JSON.stringify(json));
    };
    try {
      const host = req.headers.host ?? "";
      if (host !== `127.0.0.1:${this.port}` && host !== `localhost:${this.port}`) return reply(421, { error: "wrong Host: the console answers to 127.0.0.1 only" });
      const url = new URL(req.url ?? "/", `http://${host}`);
      if (url.pathname === "/" && req.method === "GET") {
        res.writeHead(200, {
          "content-type": "text/html; charset=utf-8",
          "cache-control": "no-store",
          "content-security-policy": "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:",
          "referrer-policy": "no-referrer",
        });
        res.end(CONSOLE_PAGE);
        return;
      }
      if (!url.pathname.startsWith("/api/")) return reply(404, { error: "not found" });
      if (!this.authorised(req, url)) return reply(401, { error: "the console token is missing or wrong (use the URL npm start printed)" });
      if (url.pathname === "/api/events" && req.method === "GET") return this.stream(res);
      let body: unknown;
      if (req.method === "POST") {
        if (!/^application\/json\b/.test(req.headers["content-type"] ?? "")) return reply(415, { error: "POST bodies are JSON (content-type: application/json)" });
        const text = await readBody(req);
        if (text === undefined) {
          res.setHeader("connection", "close");
          return reply(413, { error: `request body over ${MAX_BODY_BYTES} bytes` });
        }
        try {
          body = text.length > 0 ? JSON.parse(text) : undefined;
        } catch {
          return reply(400, { error: "the body is not valid JSON" });
        }
      }
      const response = await this.api.handle({ method: req.method ?? "GET", path: url.pathname, body });
      reply(response.status, response.json);
    } catch (error) {
      if (!res.headersSent) reply(500, { error: error instanceof Error ? error.message : String(error) });
      else res.end();
    }
  }

  private stream(res: ServerResponse): void {
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-store", connection: "keep-alive" });
    res.write(`event: state\ndata: ${JSON.stringify(this.api.state())}\n\n`);
    this.streams.add(res);
    res.on("close", () => this.streams.delete(res));
  }
}

/** The body as text, or undefined when it is larger than the bound (the rest is not read). */
function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        // Stop keeping it, let the rest drain, answer 413 (the reply closes the connection).
        req.removeAllListeners("data");
        req.resume();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}
