import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** The blob storage host local firmware images are served from (inside the egress table's `*.blob.core.windows.net`). */
export const BLOB_HOST = "kismefw.blob.core.windows.net";

/** Answers one request for a published blob: `body` is the blob at that path. */
export type BlobHandler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;

/** One request as the store saw it. */
export interface Served {
  url: string | undefined;
  range: string | undefined;
  /** 0 until the response has finished (a connection cut first leaves it 0). */
  status: number;
  bodyBytes: number;
}

/** Serves `body` as blob storage does: 200, or 206 for `Range: bytes=N-` (how the device resumes), 416 past the end. */
export const serveBlob: BlobHandler = (req, res, body) => {
  const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
  if (range) {
    const start = Number(range[1]);
    if (start >= body.length) {
      res.writeHead(416, { "content-range": `bytes */${body.length}` });
      res.end();
      return;
    }
    res.writeHead(206, { "content-length": String(body.length - start), "content-range": `bytes ${start}-${body.length - 1}/${body.length}`, "content-type": "application/octet-stream" });
    res.end(body.subarray(start));
    return;
  }
  res.writeHead(200, { "content-length": String(body.length), "content-type": "application/octet-stream" });
  res.end(body);
};

/**
 * "Blob storage" on 127.0.0.1 for local runs and tests: HTTPS with a certificate for the blob host (routes map
 * that name to `port`), blobs published by path, every request recorded, and the answer replaceable (`behave`)
 * so tests can cut or corrupt a download.
 */
export class LocalBlobStore {
  /** Published images by path (without the query). */
  readonly images = new Map<string, Buffer>();
  readonly served: Served[] = [];
  /** How a request for a published blob is answered (unknown paths get a 404). */
  behave: BlobHandler = serveBlob;
  private readonly server: Server;

  /** `tls`: a server certificate naming `host`, issued by a CA the device trusts. */
  constructor(tls: { readonly cert: Buffer; readonly key: Buffer }, readonly host: string = BLOB_HOST) {
    this.server = createServer({ cert: tls.cert, key: tls.key }, (req, res) => this.handle(req, res));
  }

  /** Listens on a free loopback port. */
  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    return this;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Publishes `body` at `path` (e.g. `/firmware/kisbox-1.2.3.bin`) and returns its https URL under the blob host. */
  put(path: string, body: Buffer): string {
    this.images.set(path, body);
    return `https://${this.host}${path}`;
  }

  /** Forgets blobs and requests and serves normally again. */
  reset(): void {
    this.served.length = 0;
    this.images.clear();
    this.behave = serveBlob;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const record: Served = { url: req.url, range: req.headers.range, status: 0, bodyBytes: 0 };
    this.served.push(record);
    const write = res.write.bind(res);
    const end = res.end.bind(res);
    res.write = ((chunk: Buffer, ...rest: never[]) => {
      record.bodyBytes += chunk?.length ?? 0;
      return write(chunk, ...rest);
    }) as typeof res.write;
    res.end = ((chunk?: Buffer, ...rest: never[]) => {
      if (chunk && typeof chunk !== "function") record.bodyBytes += chunk.length;
      return end(chunk as Buffer, ...rest);
    }) as typeof res.end;
    res.on("finish", () => (record.status = res.statusCode));
    const body = this.images.get((req.url ?? "").replace(/\?.*$/, ""));
    if (!body) {
      record.status = 404;
      res.writeHead(404, { "content-type": "application/xml" });
      res.end("<Error><Code>BlobNotFound</Code></Error>");
      return;
    }
    this.behave(req, res, body);
  }
}
