import assert from "../support/assert";
import { EgressDeniedError, EgressPolicy, INTEGRATION_GUIDE_EGRESS } from "../../src/net/egress-policy";
import { ClockNotValidError, StaticRoutes } from "../../src/net/guarded-network";
import { GuardedHttpStreamClient } from "../../src/net/guarded-http-stream";
import type { HttpStreamHandlers, HttpStreamRequest } from "../../src/ports/http-stream";
import { scoped, silentLogger } from "../../src/ports/logger";
import { FakeHttpStream } from "../support/fake-ota";
import { flush } from "../support/manual-clock";

const BLOB = "kismefw.blob.core.windows.net";

function request(host: string, port = 443): HttpStreamRequest {
  return { host, port, path: "/fw.bin", ca: [], connectTimeoutMs: 1000 };
}

function recorder() {
  const errors: Error[] = [];
  const handlers: HttpStreamHandlers = { onResponse() {}, onData() {}, onEnd() {}, onError: (e) => errors.push(e) };
  return { errors, handlers };
}

describe("GuardedHttpStreamClient", () => {
  const policy = new EgressPolicy(INTEGRATION_GUIDE_EGRESS, scoped(silentLogger, "egress"));

  it("lets blob storage through, routed, with the logical name kept", () => {
    const inner = new FakeHttpStream();
    const routes = new StaticRoutes().set(BLOB, 443, "tcp", { address: "127.0.0.1", port: 8443 });
    new GuardedHttpStreamClient(inner, { policy, routes, clockValid: () => true }).get(request(BLOB), recorder().handlers);
    assert.equal(inner.exchanges.length, 1);
    assert.equal(inner.last.request.host, BLOB);
    assert.deepEqual(inner.last.request.route, { address: "127.0.0.1", port: 8443 });
  });

  it("refuses hosts and ports outside the table, asynchronously, without connecting", async () => {
    for (const [host, port] of [["firmware.example.com", 443], [BLOB, 8443], ["a.b.blob.core.windows.net", 443]] as const) {
      const inner = new FakeHttpStream();
      const r = recorder();
      new GuardedHttpStreamClient(inner, { policy, clockValid: () => true }).get(request(host, port), r.handlers);
      assert.equal(r.errors.length, 0, "never from within get()");
      await flush();
      assert.equal(r.errors.length, 1);
      assert.ok(r.errors[0] instanceof EgressDeniedError);
      assert.equal(inner.exchanges.length, 0);
    }
  });

  it("refuses TLS while the clock is not valid; an aborted refusal stays silent", async () => {
    const inner = new FakeHttpStream();
    const r = recorder();
    new GuardedHttpStreamClient(inner, { policy, clockValid: () => false }).get(request(BLOB), r.handlers);
    await flush();
    assert.ok(r.errors[0] instanceof ClockNotValidError);
    const quiet = recorder();
    new GuardedHttpStreamClient(inner, { policy, clockValid: () => false }).get(request(BLOB), quiet.handlers).abort();
    await flush();
    assert.equal(quiet.errors.length, 0);
    assert.equal(inner.exchanges.length, 0);
  });
});
