import assert from "../support/assert";
import { CREDENTIAL_CHUNK_BYTES, credentialEntries } from "../../src/device/credential-layout";

function bytes(n: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);
}

describe("credential layout (provisioned identity in key-value storage)", () => {
  it("chunks each part at 4000 bytes, lengths after the chunks, device id first", () => {
    const cert = bytes(CREDENTIAL_CHUNK_BYTES + 10, 1);
    const key = bytes(1217, 2);
    const entries = credentialEntries(cert, key, "kisbox-0001");
    assert.deepEqual(entries.map((e) => e.key), ["deviceId", "cert.0", "cert.1", "cert.len", "key.0", "key.len"]);
    assert.equal(entries[0]!.value, "kisbox-0001");
    assert.equal((entries[1]!.value as Uint8Array).length, CREDENTIAL_CHUNK_BYTES);
    assert.equal((entries[2]!.value as Uint8Array).length, 10);
    assert.equal(entries[3]!.value, cert.length);
    assert.deepEqual(entries[4]!.value, key);
    assert.equal(entries[5]!.value, 1217);
    const rebuilt = new Uint8Array(cert.length);
    rebuilt.set(entries[1]!.value as Uint8Array, 0);
    rebuilt.set(entries[2]!.value as Uint8Array, CREDENTIAL_CHUNK_BYTES);
    assert.deepEqual(rebuilt, cert);
  });

  it("exactly one chunk for exactly 4000 bytes; no device id when none is given; empty parts refused", () => {
    const entries = credentialEntries(bytes(CREDENTIAL_CHUNK_BYTES, 3), bytes(5, 4));
    assert.deepEqual(entries.map((e) => e.key), ["cert.0", "cert.len", "key.0", "key.len"]);
    assert.throws(() => credentialEntries(new Uint8Array(0), bytes(5, 4)), RangeError);
  });
});
