import assert from "../support/assert";
import { DirectMethods, MethodError, encodeMethodBody } from "../../src/azure/direct-methods";
import { scoped, silentLogger } from "../../src/ports/logger";
import { utf8 } from "../../src/core/bytes";

describe("DirectMethods", () => {
  const make = (): DirectMethods => new DirectMethods(scoped(silentLogger, "m"));

  it("dispatches by name with the parsed payload and answers 200", async () => {
    const m = make();
    m.register("setColor", (p) => ({ echo: p }));
    m.register("other", () => "nope");
    assert.deepEqual(await m.invoke("setColor", utf8('{"color":"red"}')), { status: 200, body: { echo: { color: "red" } } });
  });

  it("passes null for an empty payload and answers null for an undefined result", async () => {
    const m = make();
    let got: unknown = "unset";
    m.register("ping", (p) => {
      got = p;
    });
    assert.deepEqual(await m.invoke("ping", new Uint8Array(0)), { status: 200, body: null });
    assert.equal(got, null);
  });

  it("answers 404 for an unknown method", async () => {
    const r = await make().invoke("nope", utf8("{}"));
    assert.equal(r.status, 404);
    assert.match(JSON.stringify(r.body), /unknown method: nope/);
  });

  it("answers 400 for a malformed payload without calling the handler", async () => {
    const m = make();
    let called = false;
    m.register("x", () => (called = true));
    assert.equal((await m.invoke("x", utf8("{nope"))).status, 400);
    assert.equal((await m.invoke("x", new Uint8Array([0xff, 0xfe]))).status, 400);
    assert.equal(called, false);
  });

  it("answers with the status of a MethodError (e.g. 400 with a reason)", async () => {
    const m = make();
    m.register("x", () => {
      throw new MethodError(400, "color must be one of red, green");
    });
    assert.deepEqual(await m.invoke("x", utf8("{}")), { status: 400, body: { error: "color must be one of red, green" } });
  });

  it("answers 500 when a handler throws or rejects, and keeps working", async () => {
    const m = make();
    m.register("sync", () => {
      throw new TypeError("boom");
    });
    m.register("async", async () => {
      throw new Error("later");
    });
    m.register("fine", () => 1);
    assert.equal((await m.invoke("sync", utf8("1"))).status, 500);
    assert.equal((await m.invoke("async", utf8("1"))).status, 500);
    assert.deepEqual(await m.invoke("fine", utf8("1")), { status: 200, body: 1 });
  });

  it("turns an unserialisable result into a 500 body", () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    assert.equal(encodeMethodBody({ status: 200, body: cyclic }).status, 500);
    assert.deepEqual(encodeMethodBody({ status: 200, body: { a: 1 } }), { status: 200, json: '{"a":1}' });
  });

  it("refuses invalid method names at registration", () => {
    assert.throws(() => make().register("a/b", () => 1), RangeError);
    assert.throws(() => make().register("", () => 1), RangeError);
  });
});
