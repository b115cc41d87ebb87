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
  type ManifestChecks,
} from "../../src/update/update-manifest";
import { p256Point, p256Spki } from "../../src/ports/crypto";
import { toHex, utf8 } from "../../src/core/bytes";
import { FakeCrypto, encodeBase64, fakeSign, testImage } from "../support/fake-ota";
import { sha256 } from "../support/sha256";

const KEY = new Uint8Array(65).fill(7);
KEY[0] = 4;
const OTHER_KEY = new Uint8Array(65).fill(9);
OTHER_KEY[0] = 4;
const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);
const checks: ManifestChecks = { currentVersion: "1.2.3", slotSize: 1 << 20, product: "box", securityFloor: 0, now: NOW };

function signed(fields: Partial<FirmwareManifest> = {}, key = KEY): FirmwareManifest {
  const image = testImage(5000);
  const base = {
    product: "box" as const,
    version: "1.3.0",
    url: "https://kismefw.blob.core.windows.net/fw/kisbox-1.3.0.bin?sv=2024&sig=abc%2B",
    size: image.length,
    sha256: toHex(sha256(image)),
    securityVersion: 0,
    ...fields,
  };
  return { ...base, signature: encodeBase64(fakeSign(key, utf8(canonicalMessage(base)))), ...(fields.signature ? { signature: fields.signature } : {}) };
}

/** A downgrade to 1.0.0 from the running 1.2.3, valid for a day from NOW. */
const downgrade = (fields: Partial<FirmwareManifest> = {}): FirmwareManifest =>
  signed({ version: "1.0.0", downgradeFrom: "1.2.3", expires: NOW / 1000 + 86_400, downgradeReason: "1.2.3 breaks the LEDs", ...fields });

const code = (expected: string) => (error: unknown) => error instanceof OtaError && error.code === expected;

describe("Firmware manifest", () => {
  it("has a fixed canonical message (kisme-fw:v2): product, version, size, hash, security version, downgrade-from, expiry", () => {
    assert.equal(
      canonicalMessage({ product: "box", version: "1.3.0", size: 42, sha256: "AB".repeat(32), securityVersion: 3 }),
      `kisme-fw:v2\nproduct=box\nversion=1.3.0\nsize=42\nsha256=${"ab".repeat(32)}\nsecurity-version=3\ndowngrade-from=\nexpires=`,
    );
    assert.equal(
      canonicalMessage({ product: "light", version: "1.0.0", size: 1, sha256: "00".repeat(32), securityVersion: 0, downgradeFrom: "1.2.3", expires: 1767225600 }),
      `kisme-fw:v2\nproduct=light\nversion=1.0.0\nsize=1\nsha256=${"00".repeat(32)}\nsecurity-version=0\ndowngrade-from=1.2.3\nexpires=1767225600`,
    );
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
      [{ ...m, product: "kisbox" }, /product must be one of box, light/],
      [{ ...m, product: undefined }, /product/],
      [{ ...m, securityVersion: -1 }, /securityVersion/],
      [{ ...m, securityVersion: 1.5 }, /securityVersion/],
      [{ ...m, securityVersion: "3" }, /securityVersion/],
      [{ ...m, securityVersion: 2 ** 31 }, /securityVersion/],
      [{ ...m, downgradeFrom: "1.2" }, /downgradeFrom/],
      [{ ...m, downgradeFrom: "1.2.3\nexpires=9" }, /downgradeFrom/],
      [{ ...m, expires: "2026-01-01" }, /expires/],
      [{ ...m, expires: 1.5 }, /expires/],
      [{ ...m, downgradeFrom: "1.2.3", downgradeReason: "x" }, /needs an expiry/],
      [{ ...m, downgradeFrom: "1.2.3", expires: 1767225600 }, /needs a downgradeReason/],
      [{ ...m, downgradeReason: "x" }, /only for a downgrade/],
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
    assert.throws(() => checkManifest(signed({ product: "light" }), checks, crypto, KEY), code("wrong-product"));
    assert.throws(() => checkManifest(signed({ securityVersion: 2 }), { ...checks, securityFloor: 3 }, crypto, KEY), code("security-version"));
    assert.throws(() => checkManifest(signed(), checks, crypto, OTHER_KEY), code("bad-signature"));
    assert.throws(() => checkManifest(signed({}, OTHER_KEY), checks, crypto, KEY), code("bad-signature"));
    assert.throws(() => checkManifest({ ...signed(), signature: "!!" }, checks, crypto, KEY), code("bad-signature"));
  });

  it("binds every signed field: changing product, version, size, hash, security version, downgrade-from or expiry breaks the signature", () => {
    const crypto = new FakeCrypto();
    const m = signed({ securityVersion: 5 });
    const floor5 = { ...checks, securityFloor: 5 };
    assert.equal(checkManifest(m, floor5, crypto, KEY).host, "kismefw.blob.core.windows.net");
    assert.throws(() => checkManifest({ ...m, version: "1.3.1" }, floor5, crypto, KEY), code("bad-signature"));
    assert.throws(() => checkManifest({ ...m, size: m.size - 1 }, floor5, crypto, KEY), code("bad-signature"));
    assert.throws(() => checkManifest({ ...m, sha256: "0".repeat(64) }, floor5, crypto, KEY), code("bad-signature"));
    assert.throws(() => checkManifest({ ...m, securityVersion: 6 }, floor5, crypto, KEY), code("bad-signature"));
    // A KIS.BOX image relabelled as a KIS.LIGHT one (in the twin) does not verify on a KIS.LIGHT.
    assert.throws(() => checkManifest({ ...m, product: "light" }, { ...floor5, product: "light" }, crypto, KEY), code("bad-signature"));
    // An old, validly signed release cannot be turned into a downgrade by editing the twin.
    const old = signed({ version: "1.0.0" });
    assert.throws(() => checkManifest({ ...old, downgradeFrom: "1.2.3", expires: NOW / 1000 + 60, downgradeReason: "rollback" }, checks, crypto, KEY), code("bad-signature"));
    // Nor can a signed downgrade be re-aimed at another version or given a later expiry.
    const d = downgrade();
    assert.equal(checkManifest(d, checks, crypto, KEY).host, "kismefw.blob.core.windows.net");
    assert.throws(() => checkManifest({ ...d, downgradeFrom: "1.2.4" }, { ...checks, currentVersion: "1.2.4" }, crypto, KEY), code("bad-signature"));
    assert.throws(() => checkManifest({ ...d, expires: d.expires! + 86_400 }, checks, crypto, KEY), code("bad-signature"));
    // The reason is not signed: it is only reported.
    assert.equal(checkManifest({ ...d, downgradeReason: "other words" }, checks, crypto, KEY).host, "kismefw.blob.core.windows.net");
    // The URL is not signed: the image may move.
    const moved = { ...signed(), url: "https://other.blob.core.windows.net/x.bin" };
    assert.equal(checkManifest(moved, checks, crypto, KEY).host, "other.blob.core.windows.net");
  });

  it("refuses another product's image: a KIS.LIGHT image on a KIS.BOX and the other way round", () => {
    const crypto = new FakeCrypto();
    const light = signed({ product: "light" });
    assert.throws(() => checkManifest(light, checks, crypto, KEY), (e) => e instanceof OtaError && e.report === 'wrong-product: the image is for the product "light", this device is "box"');
    assert.equal(checkManifest(light, { ...checks, product: "light" }, crypto, KEY).port, 443);
    assert.throws(() => checkManifest(signed(), { ...checks, product: "light" }, crypto, KEY), code("wrong-product"));
    assert.equal(crypto.verifications, 1, "refused before the signature is checked");
  });

  it("refuses an image whose security version is below the floor; at or above it is fine, downgrades included", () => {
    const crypto = new FakeCrypto();
    const floor = { ...checks, securityFloor: 4 };
    assert.throws(() => checkManifest(signed({ securityVersion: 3 }), floor, crypto, KEY), (e) => e instanceof OtaError && e.report === "security-version: security version 3 is below this device's floor 4");
    assert.equal(checkManifest(signed({ securityVersion: 4 }), floor, crypto, KEY).port, 443);
    assert.equal(checkManifest(signed({ securityVersion: 9 }), floor, crypto, KEY).port, 443);
    // A signed downgrade cannot go below the floor either.
    assert.throws(() => checkManifest(downgrade({ securityVersion: 3 }), floor, crypto, KEY), code("security-version"));
    assert.equal(checkManifest(downgrade({ securityVersion: 4 }), floor, crypto, KEY).port, 443);
  });

  it("a downgrade must name the exact version it replaces: refused on a device running anything else", () => {
    const crypto = new FakeCrypto();
    const d = downgrade(); // replaces 1.2.3
    assert.equal(checkManifest(d, checks, crypto, KEY).port, 443);
    for (const running of ["1.2.4", "1.2.2", "2.0.0", "1.2.3-rc.1"]) {
      assert.throws(
        () => checkManifest(d, { ...checks, currentVersion: running }, crypto, KEY),
        (e) => e instanceof OtaError && e.report === `downgrade: the manifest replaces 1.2.3, this device runs ${running}`,
        running,
      );
    }
    // Without downgradeFrom, an older version is refused.
    assert.throws(() => checkManifest(signed({ version: "1.0.0" }), checks, crypto, KEY), (e) => e instanceof OtaError && e.report === "downgrade: 1.0.0 is older than the running 1.2.3");
    // downgradeFrom binds an upgrade manifest too: it is only for that one running version.
    assert.throws(() => checkManifest(signed({ version: "1.4.0", downgradeFrom: "1.2.2", expires: NOW / 1000 + 60, downgradeReason: "x" }), checks, crypto, KEY), code("downgrade"));
  });

  it("an expiring manifest is refused after its expiry, and while the clock is not set (retryable)", () => {
    const crypto = new FakeCrypto();
    const d = downgrade({ expires: NOW / 1000 + 60 });
    assert.equal(checkManifest(d, { ...checks, now: NOW + 59_999 }, crypto, KEY).port, 443);
    assert.throws(() => checkManifest(d, { ...checks, now: NOW + 60_000 }, crypto, KEY), (e) => e instanceof OtaError && e.report === "expired: the manifest expired at 2026-01-15T12:01:00.000Z" && !e.retryable);
    assert.throws(() => checkManifest(d, { ...checks, now: NOW + 86_400_000 }, crypto, KEY), code("expired"));
    assert.throws(() => checkManifest(d, { ...checks, now: undefined }, crypto, KEY), (e) => e instanceof OtaError && e.code === "clock-not-set" && e.retryable);
    // Any manifest may expire; one without an expiry does not need the clock.
    assert.throws(() => checkManifest(signed({ expires: NOW / 1000 - 1 }), checks, crypto, KEY), code("expired"));
    assert.equal(checkManifest(signed(), { ...checks, now: undefined }, crypto, KEY).port, 443);
  });

  it("refuses kisme-fw:v1 manifests, and a v1 signature never verifies as v2", () => {
    const image = testImage(5000);
    const v1 = { version: "1.0.0", size: image.length, sha256: toHex(sha256(image)) };
    const v1Signature = encodeBase64(fakeSign(KEY, utf8(`kisme-fw:v1\n${v1.version}\n${v1.size}\n${v1.sha256}\ndowngrade=1`)));
    const url = "https://kismefw.blob.core.windows.net/fw/old.bin";
    for (const old of [
      { ...v1, url, signature: v1Signature, allowDowngrade: true, downgradeReason: "old" },
      { ...v1, url, signature: v1Signature },
      { ...v1, url, signature: v1Signature, product: "box", securityVersion: 0, allowDowngrade: true },
    ]) {
      assert.throws(() => parseManifest(old), (e) => e instanceof OtaError && e.code === "invalid-manifest" && /kisme-fw:v1 manifests are no longer accepted/.test(e.message));
    }
    // The same fields dressed as v2 (the signature is still over the v1 bytes) are refused by the signature.
    const dressed = parseManifest({ ...v1, url, signature: v1Signature, product: "box", securityVersion: 0, downgradeFrom: "1.2.3", expires: NOW / 1000 + 60, downgradeReason: "old" });
    assert.throws(() => checkManifest(dressed, checks, new FakeCrypto(), KEY), code("bad-signature"));
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
