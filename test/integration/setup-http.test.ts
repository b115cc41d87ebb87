import assert from "node:assert/strict";
import { request } from "node:http";
import { listenHttp } from "../../host/adapters/node-http-server";
import type { HttpRequest } from "../../src/ports/http-server";

/** One raw request (node:http, so Host and body are exactly what the test says). */
function send(port: number, options: { method?: string; path?: string; host?: string; body?: string; headers?: Record<string, string> }): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, method: options.method ?? "GET", path: options.path ?? "/", headers: { host: options.host ?? `127.0.0.1:${port}`, ...options.headers } }, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end(options.body);
  });
}

describe("setup page HTTP listener (host adapter over node:http)", () => {
  it("passes method, path without query, lower-case headers and the body; answers 413 beyond 2 KB", async () => {
    const seen: HttpRequest[] = [];
    const listener = await listenHttp(async (r) => {
      seen.push(r);
      return { status: 201, headers: { "content-type": "text/plain", "x-answer": "yes" }, body: "größe" };
    });
    try {
      const ok = await send(listener.port, { method: "POST", path: "/api/join?x=1", body: '{"a":1}', headers: { "X-Setup-Token": "abc", "content-type": "application/json" } });
      assert.deepEqual(ok, { status: 201, body: "größe" });
      assert.equal(seen[0]!.method, "POST");
      assert.equal(seen[0]!.path, "/api/join");
      assert.equal(seen[0]!.headers["x-setup-token"], "abc");
      assert.equal(seen[0]!.body, '{"a":1}');
      const big = await send(listener.port, { method: "POST", body: "x".repeat(3000) });
      assert.equal(big.status, 413);
      assert.equal(seen.length, 1, "the handler never saw the oversized request");
    } finally {
      listener.close();
    }
  });

  it("a handler that throws is a 500, and the listener keeps serving", async () => {
    let calls = 0;
    const listener = await listenHttp(async () => {
      if (calls++ === 0) throw new Error("boom");
      return { status: 200, headers: {}, body: "ok" };
    });
    try {
      assert.equal((await send(listener.port, {})).status, 500);
      assert.deepEqual(await send(listener.port, {}), { status: 200, body: "ok" });
    } finally {
      listener.close();
    }
  });
});
