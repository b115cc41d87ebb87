import assert from "../support/assert";
import {
  OtaError,
  canonicalMessage,
  checkManifest,
  compareVersions,
  decodeBase64,
  parseFirmwareUrl,
  parseHttpsUrl,
  parseManifest,
  type FirmwareManifest,
} from "../../src/update/update-manifest";
import { p256Point, p256Spki } from "../../src/ports/crypto";
import { toHex, utf8 } from "../../src/core/bytes";
import { FakeCrypto, encodeBase64, fakeSign, testImage } from "../support/fake-ota";
import { sha256 } from "../support/sha256";

const KEY = new Uint8Array(65).fill(7);
KEY[0] = 4;
const OTHER_KEY = new Uint8Array(65).fill(9);
OTHER_KEY[0] = 4;
const checks = { currentVersion: "1.2.3", slotSize: 1 << 20 };

function signed(fields: Partial<FirmwareManifest> = {}, key = KEY): FirmwareManifest {
  const image = testImage(5000);
  const base = { version: "1.3.0", url: "https://kismefw.blob.core.windows.net/fw/kisbox-1.3.0.bin?sv=2024&sig=abc%2B", size: image.length, sha256: toHex(sha256(image)), ...fields };
  return { ...base, signature: encodeBase64(fakeSign(key, utf8(canonicalMessage(base)))), ...(fields.signature ? { signature: fields.signature } : {}) };
}

const code = (expected: string) => (error: unknown) => error instanceof OtaError && error.code === expected;

describe("Firmware manifest", () => {
  it("has a fixed canonical message: prefix, version, size, hash, downgrade flag", () => {
    assert.equal(canonicalMessage({ version: "1.3.0", size: 42, sha256: "AB".repeat(32) }), `kisme-fw:v1\n1.3.0\n42\n${"ab".repeat(32)}\ndowngrade=0`);
    assert.equal(canonicalMessage({ version: "1.0.0", size: 1, sha256: "00".repeat(32), allowDowngrade: true }), `kisme-fw:v1\n1.0.0\n1\n${"00".repeat(32)}\ndowngrade=1`);
  });

  it("compares versions semantically, pre-releases before releases", () => {
    assert.equal(compareVersions("1.2.3", "1.2.3"), 0);
    assert.equal(compareVersions("1.10.0", "1.9.9"), 1);
    assert.equal(compareVersions("2.0.0", "10.0.0"), -1);
    assert.equal(compareVersions("1.3.0-rc.1", "1.3.0"), -1);
    assert.equal(compareVersions("1.3.0-rc.2", "1.3.0-rc.10"), -1);
    assert.equal(compareVersions("1.3.0-beta", "1.3.0-alpha"), 1);
    assert.throws(() => compareVersions("1.2", "1.2.0"), RangeError);
  });

  it("parses https URLs only", () => {
    assert.deepEqual(parseHttpsUrl("https://KismeFW.blob.core.windows.net/a/b.bin?sig=x"), { host: "kismefw.blob.core.windows.net", port: 443, path: "/a/b.bin?sig=x" });
    assert.deepEqual(parseHttpsUrl("https://h.example:8443"), { host: "h.example", port: 8443, path: "/" });
    for (const bad of ["http://kismefw.blob.core.windows.net/x", "https://user@h/x", "https://h:0/", "https://h/x#frag", "ftp://h/x", "https:///x"]) {
      assert.equal(parseHttpsUrl(bad), undefined, bad);
    }
  });

  it("accepts a firmware URL only under the blob-storage rule itself: https, one label + .blob.core.windows.net, port 443", () => {
    const BLOB = "kismefw.blob.core.windows.net";
    assert.deepEqual(parseFirmwareUrl(`https://${BLOB}/fw/kisbox.bin?sv=2024&sig=abc`), { host: BLOB, port: 443, path: "/fw/kisbox.bin?sv=2024&sig=abc" });
    assert.deepEqual(parseFirmwareUrl(`https://${BLOB}:443/fw.bin`), { host: BLOB, port: 443, path: "/fw.bin" }, "explicit :443");
    assert.deepEqual(parseFirmwareUrl("https://KismeFW.Blob.Core.Windows.NET/fw.bin"), { host: BLOB, port: 443, path: "/fw.bin" }, "any case");
    assert.equal(parseFirmwareUrl(`https://${BLOB}`)?.path, "/");
    for (const bad of [
      "https://evil.example:53/x", // allowed by the table's DNS rule (*:53/tcp), never a firmware URL
      "https://any-host:53/fw.bin",
      `https://${BLOB}:53/fw.bin`,
      `https://${BLOB}:8443/fw.bin`,
      `http://${BLOB}/fw.bin`,
      `HTTPS://${BLOB}/fw.bin`,
      `ftp://${BLOB}/fw.bin`,
      "https://a.b.blob.core.windows.net/fw.bin", // two labels
      "https://blob.core.windows.net/fw.bin", // no label
      "https://.blob.core.windows.net/fw.bin",
      "https://-x.blob.core.windows.net/fw.bin",
      `https://${BLOB}./fw.bin`, // trailing dot
      "https://kismefw.blob.core.windows.net.evil.example/fw.bin",
      "https://kismefwblob.core.windows.net/fw.bin",
      `https://user@${BLOB}/fw.bin`, // user info
      `https://user:pass@${BLOB}/fw.bin`,
      `https://evil.example@${BLOB}/fw.bin`,
      `https://${BLOB}@evil.example/fw.bin`,
      `https://${BLOB}/fw.bin#frag`,
      "https://10.0.0.1/fw.bin", // IP literals
      "https://10.0.0.1:443/fw.bin",
      "https://[::1]/fw.bin",
      "https://bootstrap.centersightcloud.com/fw.bin", // in the table, but not blob storage
      "https://iotrafi-prod-iot-hub.azure-devices.net:8883/fw.bin",
      "",
    ]) {
      assert.equal(parseFirmwareUrl(bad), undefined, bad);
    }
  });

  it("decodes strict base64", () => {
    assert.deepEqual(decodeBase64("AAEC/w=="), new Uint8Array([0, 1, 2, 255]));
    assert.deepEqual(decodeBase64(encodeBase64(testImage(31))), testImage(31));
    assert.equal(decodeBase64("A*=="), undefined);
  });

  it("wraps a raw P-256 point as SubjectPublicKeyInfo and back", () => {
    const spki = p256Spki(KEY);
    assert.equal(spki.length, 91);
    assert.deepEqual(p256Point(spki), KEY);
    assert.deepEqual(p256Point(KEY), KEY);
    assert.equal(p256Point(new Uint8Array(10)), undefined);
  });

  it("accepts a well-formed manifest and refuses malformed ones", () => {
    const m = signed();
    assert.deepEqual(parseManifest({ ...m, sha256: m.sha256.toUpperCase() }), m);
    const bad: Array<[unknown, RegExp]> = [
      [null, /object/],
      [{ ...m, version: "v1" }, /version/],
      [{ ...m, url: "http://kismefw.blob.core.windows.net/x" }, /url/],
      [{ ...m, size: 0 }, /size/],
      [{ ...m, size: 1.5 }, /size/],
      [{ ...m, sha256: "abc" }, /sha256/],
      [{ ...m, signature: "" }, /signature/],
      [{ ...m, allowDowngrade: "yes" }, /allowDowngrade/],
      [{ ...m, allowDowngrade: true }, /downgradeReason/],
    ];
    for (const [value, why] of bad) assert.throws(() => parseManifest(value), (e) => e instanceof OtaError && e.code === "invalid-manifest" && why.test(e.message));
  });

  it("checks size, host, version and signature before anything is fetched", () => {
    const crypto = new FakeCrypto();
    assert.deepEqual(checkManifest(signed(), checks, crypto, KEY), { host: "kismefw.blob.core.windows.net", port: 443, path: "/fw/kisbox-1.3.0.bin?sv=2024&sig=abc%2B" });
    assert.throws(() => checkManifest(signed(), { ...checks, slotSize: 4999 }, crypto, KEY), code("too-large"));
    assert.throws(() => checkManifest(signed({ url: "https://evil.example.com/fw.bin" }), checks, crypto, KEY), code("egress-denied"));
    assert.throws(() => checkManifest(signed({ url: "https://a.b.blob.core.windows.net/fw.bin" }), checks, crypto, KEY), code("egress-denied"));
    assert.throws(() => checkManifest(signed({ url: "https://kismefw.blob.core.windows.net:8443/fw.bin" }), checks, crypto, KEY), code("egress-denied"));
    // The table's DNS rule allows any host on TCP port 53; the firmware URL must match the blob rule itself.
    assert.throws(() => checkManifest(signed({ url: "https://evil.example:53/x" }), checks, crypto, KEY), code("egress-denied"));
    assert.throws(() => checkManifest(signed({ url: "https://kismefw.blob.core.windows.net:53/x" }), checks, crypto, KEY), code("egress-denied"));
    assert.throws(() => checkManifest(signed({ url: "https://bootstrap.centersightcloud.com/x" }), checks, crypto, KEY), code("egress-denied"));
    assert.throws(() => checkManifest(signed({ version: "1.2.2" }), checks, crypto, KEY), code("downgrade"));
    assert.throws(() => checkManifest(signed(), checks, crypto, OTHER_KEY), code("bad-signature"));
    assert.throws(() => checkManifest(signed({}, OTHER_KEY), checks, crypto, KEY), code("bad-signature"));
    assert.throws(() => checkManifest({ ...signed(), signature: "!!" }, checks, crypto, KEY), code("bad-signature"));
  });

  it("binds every signed field: changing version, size, hash or the downgrade flag breaks the signature", () => {
    const crypto = new FakeCrypto();
    const m = signed();
    assert.throws(() => checkManifest({ ...m, version: "1.3.1" }, checks, crypto, KEY), code("bad-signature"));
    assert.throws(() => checkManifest({ ...m, size: m.size - 1 }, checks, crypto, KEY), code("bad-signature"));
    assert.throws(() => checkManifest({ ...m, sha256: "0".repeat(64) }, checks, crypto, KEY), code("bad-signature"));
    // An old, validly signed release cannot be turned into a downgrade by editing the twin.
    const old = signed({ version: "1.0.0" });
    assert.throws(() => checkManifest({ ...old, allowDowngrade: true, downgradeReason: "rollback" }, checks, crypto, KEY), code("bad-signature"));
    const allowed = signed({ version: "1.0.0", allowDowngrade: true, downgradeReason: "1.2.3 breaks the LEDs" });
    assert.equal(checkManifest(allowed, checks, crypto, KEY).host, "kismefw.blob.core.windows.net");
    // The URL is not signed: the image may move.
    const moved = { ...m, url: "https://other.blob.core.windows.net/x.bin" };
    assert.equal(checkManifest(moved, checks, crypto, KEY).host, "other.blob.core.windows.net");
  });

  it("reports errors as `code: message`, with the name set as a class field", () => {
    const e = new OtaError("hash-mismatch", "boom");
    assert.equal(e.report, "hash-mismatch: boom");
    assert.equal(e.name, "OtaError");
  });

  it("the test SHA-256 matches the FIPS 180-4 vectors", () => {
    assert.equal(toHex(sha256(new Uint8Array(0))), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert.equal(toHex(sha256(utf8("abc"))), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert.equal(toHex(sha256(utf8("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  });
});
