import assert from "../support/assert";
import { DEFAULT_MAX_RESPONSE_HEAD_BYTES, ResponseHeadLimit, responseHeadBytes, responseHeadTooLarge } from "../../src/net/response-head";

/** The head as a server sends it. */
function wire(statusLine: string, fields: Array<[string, string]>): string {
  return `${statusLine}\r\n${fields.map(([n, v]) => `${n}: ${v}\r\n`).join("")}\r\n`;
}

describe("response head bound", () => {
  const fields: Array<[string, string]> = [
    ["content-type", "application/octet-stream"],
    ["content-length", "1048576"],
    ["x-ms-request-id", "0f3c"],
  ];

  it("counts the head as it is on the wire: status line, `name: value` per field, each CRLF, the empty line", () => {
    assert.equal(DEFAULT_MAX_RESPONSE_HEAD_BYTES, 8192);
    assert.equal(responseHeadBytes("HTTP/1.1 200 OK", fields), wire("HTTP/1.1 200 OK", fields).length);
    assert.equal(responseHeadBytes("HTTP/1.1 204 No Content", []), "HTTP/1.1 204 No Content\r\n\r\n".length);
    assert.equal(responseHeadBytes("HTTP/1.1 200 OK", new Map([["a", "b"]])), "HTTP/1.1 200 OK\r\na: b\r\n\r\n".length);
  });

  it("allows a head of exactly the bound, refuses one byte more, byte by byte as it arrives", () => {
    const limit = new ResponseHeadLimit(64);
    for (let i = 0; i < 64; i++) assert.ok(limit.add(1), `byte ${i + 1}`);
    assert.equal(limit.exceeded, false);
    assert.equal(limit.add(1), false, "byte 65");
    assert.equal(limit.exceeded, true);
    assert.equal(limit.add(0), false, "stays over");
    assert.equal(limit.bytes, 65);
    assert.equal(limit.message, "response head (status line and headers) exceeds 64 bytes");
    assert.equal(responseHeadTooLarge(8192), "response head (status line and headers) exceeds 8192 bytes");
  });

  it("checks a whole head handed over at once (an HTTP client that buffers it), at the 8 KB default", () => {
    const pad = (total: number): Array<[string, string]> => {
      const base = responseHeadBytes("HTTP/1.1 200 OK", [...fields, ["x-pad", ""]]);
      return [...fields, ["x-pad", "a".repeat(total - base)]];
    };
    assert.equal(responseHeadBytes("HTTP/1.1 200 OK", pad(8192)), 8192);
    assert.ok(new ResponseHeadLimit().check("HTTP/1.1 200 OK", pad(8192)));
    assert.equal(new ResponseHeadLimit().check("HTTP/1.1 200 OK", pad(8193)), false);
    // One huge header, or very many small ones.
    assert.equal(new ResponseHeadLimit().check("HTTP/1.1 200 OK", [["x", "y".repeat(100_000)]]), false);
    const many: Array<[string, string]> = [];
    for (let i = 0; i < 1000; i++) many.push([`x-${i}`, "v"]);
    assert.equal(new ResponseHeadLimit().check("HTTP/1.1 200 OK", many), false);
    // Bytes already counted on the wire are not forgotten by a smaller parsed head.
    const limit = new ResponseHeadLimit(100);
    limit.add(101);
    assert.equal(limit.check("HTTP/1.1 200 OK", []), false);
  });

  it("counts nothing after the head has ended (the body is bounded elsewhere)", () => {
    const limit = new ResponseHeadLimit(32);
    assert.ok(limit.add(30));
    limit.end();
    assert.ok(limit.complete);
    assert.ok(limit.add(10_000));
    assert.equal(limit.bytes, 30);
  });

  it("refuses a nonsensical bound", () => {
    for (const bad of [0, 15, -1, 1.5, Number.NaN]) assert.throws(() => new ResponseHeadLimit(bad), RangeError);
  });
});
