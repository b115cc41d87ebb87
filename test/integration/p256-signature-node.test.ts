import assert from "node:assert/strict";
import { generateKeyPairSync, randomBytes, sign, verify } from "node:crypto";
import { p256RawSignature } from "../../src/ports/crypto";

// The device's ECDSA (the SDK's) takes r || s; the manifests carry DER. Node says what both forms mean.
describe("p256RawSignature against node:crypto", () => {
  it("turns 300 real DER signatures into the r || s node:crypto verifies (ieee-p1363)", () => {
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
    for (let i = 0; i < 300; i++) {
      const message = randomBytes(1 + (i % 97));
      const der = sign("sha256", message, privateKey);
      const raw = p256RawSignature(new Uint8Array(der));
      assert.ok(raw, `signature ${i} parsed`);
      assert.equal(raw.length, 64);
      assert.ok(verify("sha256", message, { key: publicKey, dsaEncoding: "ieee-p1363" }, raw), `signature ${i} verifies as r || s`);
      assert.ok(!verify("sha256", Buffer.concat([message, Buffer.from([1])]), { key: publicKey, dsaEncoding: "ieee-p1363" }, raw), "not for another message");
    }
  });
});
