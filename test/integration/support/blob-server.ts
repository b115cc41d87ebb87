import { createHash, sign, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { issueServer, type CertificateAuthority } from "../../../host/pki/dev-pki";
import { canonicalMessage, type FirmwareManifest } from "../../../src/update/update-manifest";

/** The blob storage host firmware images are served from (tests route it to the loopback server). */
export const BLOB = "kismefw.blob.core.windows.net";

/** Answers one request for a published image: `body` is the image at that path. */
export type BlobHandler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;

/** One request as the server saw it. */
export interface Served {
  url: string | undefined;
  range: string | undefined;
  /** 0 until the response has finished (a connection cut first leaves it 0). */
  status: number;
  bodyBytes: number;
}

/** Serves `body` as blob storage does: 200, or 206 for `Range: bytes=N-`, 416 past the end. */
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
 * "Blob storage" on 127.0.0.1: HTTPS with a certificate for BLOB from the test CA, images published under
 * `/firmware/…` with signed manifests, every request recorded, and the answer replaceable per test (`behave`).
 */
export class BlobServer {
  /** Published images by path (without the query). */
  readonly images = new Map<string, Buffer>();
  readonly served: Served[] = [];
  /** How a request for a published image is answered (unknown paths get a 404). */
  behave: BlobHandler = serveBlob;

  private constructor(private readonly server: Server) {}

  static async start(ca: CertificateAuthority): Promise<BlobServer> {
    const cred = issueServer(ca, [BLOB]);
    let blobs: BlobServer | undefined;
    const server = createServer({ cert: readFileSync(cred.cert), key: readFileSync(cred.key) }, (req, res) => blobs!.handle(req, res));
    blobs = new BlobServer(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return blobs;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Forgets images and requests and serves normally again. */
  reset(): void {
    this.served.length = 0;
    this.images.clear();
    this.behave = serveBlob;
  }

  /**
   * Publishes `body` at `/firmware/kisbox-{version}.bin` and returns its manifest signed with `key`; `fields`
   * override what is signed (a wrong size or hash, say).
   */
  publish(body: Buffer, key: KeyObject, fields: Partial<FirmwareManifest> & { readonly version: string }): FirmwareManifest {
    const { version, ...overrides } = fields;
    const path = `/firmware/kisbox-${version}.bin`;
    this.images.set(path, body);
    const base = {
      version,
      url: `https://${BLOB}${path}?sv=2024-11-04&sr=b&sig=abc%3D`,
      size: body.length,
      sha256: createHash("sha256").update(body).digest("hex"),
      ...overrides,
    };
    const signature = sign("sha256", Buffer.from(canonicalMessage(base)), key).toString("base64");
    return { ...base, signature };
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
