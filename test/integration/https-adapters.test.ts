import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createServer, type Server, type TLSSocket } from "node:tls";
import type { AddressInfo } from "node:net";
import { HttpsRequestError, NodeHttpsClient } from "../../host/adapters/node-https";
import { NodeHttpStreamClient } from "../../host/adapters/node-http-stream";
import { issueServer } from "../../host/pki/dev-pki";
import { responseHeadBytes } from "../../src/net/response-head";
import type { HttpStreamRequest } from "../../src/ports/http-stream";
import { TestPki } from "./support/fixture";

const BLOB = "kismefw.blob.core.windows.net";
const SAS_PATH = "/firmware/kisbox-1.3.0.bin?sv=2024-05-04&sr=b&sp=r&sig=SECRET%2Bx%3D";

/** A response head of exactly `total` bytes (status line, headers, padding header, empty line) and a 2-byte body. */
function headOf(total: number): string {
  const status = "HTTP/1.1 200 OK";
  const fields: Array<[string, string]> = [["content-length", "2"], ["x-pad", ""]];
  const pad = total - responseHeadBytes(status, fields);
  fields[1] = ["x-pad", "a".repeat(pad)];
  const head = `${status}\r\n${fields.map(([n, v]) => `${n}: ${v}\r\n`).join("")}\r\n`;
  assert.equal(head.length, total);
  return head;
}

describe("Host HTTPS adapters: the response head is bounded, errors never quote the query", function () {
  this.timeout(30_000);
  let pki: TestPki;
  let server: Server;
  let port: number;
  /** What the raw TLS server answers to the next request (undefined: nothing, hold the connection). */
  let reply: string | undefined;
  const sockets = new Set<TLSSocket>();

  before(async () => {
    pki = new TestPki();
    const cred = issueServer(pki.ca, [BLOB]);
    server = createServer({ cert: readFileSync(cred.cert), key: readFileSync(cred.key) }, (socket) => {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      socket.on("error", () => undefined);
      socket.once("data", () => {
        if (reply !== undefined) socket.end(reply);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  });

  after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const request = (path = "/fw.bin") => ({ host: BLOB, port: 443, route: { address: "127.0.0.1", port }, path, ca: [pki.caPem] });

  const whole = (path?: string): Promise<unknown> => new NodeHttpsClient().request({ ...request(path), method: "GET", timeoutMs: 2000, maxBodyBytes: 1024 });

  function stream(path?: string, connectTimeoutMs = 2000): Promise<{ status: number } | Error> {
    return new Promise((resolve) => {
      const r: HttpStreamRequest = { ...request(path), connectTimeoutMs };
      new NodeHttpStreamClient().get(r, {
        onResponse: (status) => resolve({ status }),
        onData: () => undefined,
        onEnd: () => undefined,
        onError: (error) => resolve(error),
      });
    });
  }

  for (const [name, run] of [
    ["NodeHttpsClient", async () => whole()],
    ["NodeHttpStreamClient", async () => stream()],
  ] as const) {
    it(`${name}: a head of 8192 bytes is taken; 8193 bytes or 64 KB fail with E2BIG`, async () => {
      reply = `${headOf(8192)}ok`;
      const ok = await run();
      assert.ok(!(ok instanceof Error), String(ok));
      assert.equal((ok as { status: number }).status, 200);
      for (const size of [8193, 8300, 64 * 1024]) {
        reply = `${headOf(size)}ok`;
        const error = await run().then(
          (r) => r,
          (e: unknown) => e,
        );
        assert.ok(error instanceof HttpsRequestError, `${size}: ${String(error)}`);
        assert.equal(error.code, "E2BIG", `${size}: ${error.message}`);
        assert.equal(error.message, "response head (status line and headers) exceeds 8192 bytes");
      }
    });
  }

  it("a smaller bound can be set", async () => {
    reply = `${headOf(1025)}ok`;
    await assert.rejects(new NodeHttpsClient({ maxResponseHeadBytes: 1024 }).request({ ...request(), method: "GET", timeoutMs: 2000, maxBodyBytes: 1024 }), /exceeds 1024 bytes/);
  });

  it("timeouts name the request without its query (the SAS token)", async () => {
    reply = undefined; // never answers
    const streamed = await stream(SAS_PATH, 300);
    assert.ok(streamed instanceof HttpsRequestError);
    assert.equal(streamed.message, `no response within 300 ms (GET https://${BLOB}:443/firmware/kisbox-1.3.0.bin?…)`);
    const error = await new NodeHttpsClient().request({ ...request(SAS_PATH), method: "GET", timeoutMs: 300, maxBodyBytes: 10 }).catch((e: unknown) => e);
    assert.ok(error instanceof HttpsRequestError);
    assert.equal(error.message, `timed out after 300 ms (GET https://${BLOB}:443/firmware/kisbox-1.3.0.bin?…)`);
    assert.ok(!String(error.message).includes("SECRET"));
    // Whatever the message, the error class leaves the query out.
    assert.equal(new HttpsRequestError(`GET https://${BLOB}${SAS_PATH}: reset`).message, `GET https://${BLOB}/firmware/kisbox-1.3.0.bin?…: reset`);
  });
});
