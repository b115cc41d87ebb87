import assert from "../support/assert";
import { hashBytes, portableHash, type HashName } from "../../src/crypto/sha2";
import { toHex, utf8 } from "../../src/core/bytes";

// FIPS 180-4 example vectors (NIST CSRC "Examples with Intermediate Values").
const VECTORS: readonly [HashName, string, string][] = [
  ["SHA-256", "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"],
  ["SHA-256", "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"],
  ["SHA-256", "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"],
  ["SHA-384", "abc", "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7"],
  ["SHA-384", "", "38b060a751ac96384cd9327eb1b1e36a21fdb71114be07434c0cc7bf63f6e1da274edebfe76f65fbd51ad2f14898b95b"],
  ["SHA-512", "abc", "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"],
  [
    "SHA-512",
    "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
    "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909",
  ],
];

describe("SHA-2 (portable)", () => {
  it("matches the FIPS 180-4 examples", () => {
    for (const [name, message, digest] of VECTORS) assert.equal(toHex(hashBytes(portableHash, name, utf8(message))), digest, `${name}("${message}")`);
  });

  it("gives the same digest for any split of the input, across block boundaries", () => {
    const data = new Uint8Array(300);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7 + 3) & 0xff;
    for (const name of ["SHA-256", "SHA-384", "SHA-512"] as const) {
      const whole = toHex(hashBytes(portableHash, name, data));
      for (const cut of [1, 55, 56, 63, 64, 111, 112, 127, 128, 129, 299]) {
        const h = portableHash(name);
        h.update(data.subarray(0, cut));
        h.update(data.subarray(cut));
        assert.equal(toHex(h.digest()), whole, `${name} split at ${cut}`);
      }
    }
  });

  it("refuses to be used after digest()", () => {
    const h = portableHash("SHA-384");
    h.digest();
    assert.throws(() => h.digest());
    assert.throws(() => h.update(new Uint8Array(1)));
  });
});
