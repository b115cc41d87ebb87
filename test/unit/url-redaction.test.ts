import assert from "../support/assert";
import { REDACTED_QUERY, redactFields, redactUrl, redactUrlsIn, redactingLogger } from "../../src/net/url-redaction";
import { scoped, type LogFields } from "../../src/ports/logger";

const SAS = "sv=2024-05-04&se=2030-01-01T00%3A00%3A00Z&sr=b&sp=r&sig=SECRET%2Bx%3D";
const URL = `https://kismefw.blob.core.windows.net/fw/kisbox-1.3.0.bin?${SAS}`;

describe("URL redaction (SAS tokens)", () => {
  it("drops the query (marked ?…) and the fragment of one URL or request target", () => {
    assert.equal(REDACTED_QUERY, "?…");
    assert.equal(redactUrl(URL), "https://kismefw.blob.core.windows.net/fw/kisbox-1.3.0.bin?…");
    assert.equal(redactUrl(`/fw/kisbox.bin?${SAS}`), "/fw/kisbox.bin?…");
    assert.equal(redactUrl("https://h/x?sig=1#frag"), "https://h/x?…");
    assert.equal(redactUrl("https://h/x#frag?sig=1"), "https://h/x");
    assert.equal(redactUrl("https://h/x"), "https://h/x");
    assert.equal(redactUrl("/api/v1/devices/box-1/assignment"), "/api/v1/devices/box-1/assignment");
  });

  it("drops the query of every URL inside a text and keeps the rest, punctuation included", () => {
    const cases: Array<[string, string]> = [
      [`GET ${URL}: timed out after 30000 ms`, "GET https://kismefw.blob.core.windows.net/fw/kisbox-1.3.0.bin?…: timed out after 30000 ms"],
      [`no response within 30000 ms (GET https://h:443/fw.bin?${SAS})`, "no response within 30000 ms (GET https://h:443/fw.bin?…)"],
      [`network: GET /fw.bin?${SAS} failed`, "network: GET /fw.bin?… failed"],
      [`two: ${URL}, ${URL}.`, "two: https://kismefw.blob.core.windows.net/fw/kisbox-1.3.0.bin?…, https://kismefw.blob.core.windows.net/fw/kisbox-1.3.0.bin?…."],
      [`{"url":"${URL}"}`, '{"url":"https://kismefw.blob.core.windows.net/fw/kisbox-1.3.0.bin?…"}'],
      [`'${URL}'`, "'https://kismefw.blob.core.windows.net/fw/kisbox-1.3.0.bin?…'"],
      ["https://h?sig=SECRET", "https://h?…"],
      ["https://h/x#SECRET", "https://h/x?…"],
      [`${URL}\nnext line`, "https://kismefw.blob.core.windows.net/fw/kisbox-1.3.0.bin?…\nnext line"],
      ["what? nothing to redact here, 1/2 of it", "what? nothing to redact here, 1/2 of it"],
      ["http-status: GET kismefw.blob.core.windows.net answered 403", "http-status: GET kismefw.blob.core.windows.net answered 403"],
      ["", ""],
    ];
    for (const [text, expected] of cases) {
      assert.equal(redactUrlsIn(text), expected, text);
      assert.ok(!redactUrlsIn(text).includes("SECRET"), text);
    }
  });

  it("redacts messages and string fields of a logger", () => {
    const lines: string[] = [];
    const log = redactingLogger(scoped({ log: (level, scope, message, fields) => lines.push(`${level} [${scope}] ${message} ${JSON.stringify(fields ?? {})}`) }, "ota"));
    log.warn(`failed ${URL}`, { error: `GET ${URL}: reset`, offset: 4096, done: false, none: null, skipped: undefined });
    log.debug("plain");
    log.info("plain", { url: URL });
    log.error("plain", { n: 1 });
    assert.equal(lines.length, 4);
    assert.ok(lines.every((l) => !l.includes("SECRET") && !l.includes("sig=")), lines.join("\n"));
    assert.ok(lines[0]!.includes('"offset":4096') && lines[0]!.includes('"done":false') && lines[0]!.includes('"none":null'), lines[0]);
    assert.ok(lines[0]!.includes("kisbox-1.3.0.bin?…: reset"), lines[0]);
    const fields: LogFields = { a: "x", b: 2 };
    assert.deepEqual(redactFields(fields), { a: "x", b: 2 });
    assert.equal(redactFields(undefined), undefined);
  });
});
