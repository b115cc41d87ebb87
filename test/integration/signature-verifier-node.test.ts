// The portable signature verifier (RSA PKCS#1 v1.5, ECDSA P-256/P-384) against node:crypto (OpenSSL): every
// signature OpenSSL makes verifies, and every altered signature or message does not.
import assert from "node:assert/strict";
import { generateKeyPairSync, randomBytes, sign, type KeyObject } from "node:crypto";
import { PortableSignatureVerifier } from "../../src/crypto/signature-verifier";
import type { HashAlgorithm, PublicKey, SignatureAlgorithm } from "../../src/x509/certificate";

const verifier = new PortableSignatureVerifier();
const NODE_HASH: Record<HashAlgorithm, string> = { "SHA-256": "sha256", "SHA-384": "sha384", "SHA-512": "sha512" };

function portableKey(publicKey: KeyObject): PublicKey {
  const jwk = publicKey.export({ format: "jwk" });
  const b64 = (s: string | undefined) => new Uint8Array(Buffer.from(s!, "base64url"));
  if (jwk.kty === "RSA") return { kind: "rsa", modulus: b64(jwk.n), exponent: b64(jwk.e) };
  const point = new Uint8Array([0x04, ...b64(jwk.x), ...b64(jwk.y)]);
  return { kind: "ec", curve: jwk.crv as "P-256" | "P-384", point };
}

function roundTrips(label: string, keyPair: { publicKey: KeyObject; privateKey: KeyObject }, algorithm: SignatureAlgorithm & { hash: HashAlgorithm }, count: number): void {
  const key = portableKey(keyPair.publicKey);
  for (let i = 0; i < count; i++) {
    const message = new Uint8Array(randomBytes(1 + (i * 97) % 700));
    const signature = new Uint8Array(sign(NODE_HASH[algorithm.hash], message, keyPair.privateKey));
    assert.ok(verifier.verify(algorithm, key, message, signature), `${label} #${i}: OpenSSL's signature verifies`);
    const badSignature = signature.slice();
    badSignature[i % badSignature.length] ^= 1 << (i % 8);
    assert.ok(!verifier.verify(algorithm, key, message, badSignature), `${label} #${i}: altered signature`);
    const badMessage = message.slice();
    badMessage[0] ^= 0x80;
    assert.ok(!verifier.verify(algorithm, key, badMessage, signature), `${label} #${i}: altered message`);
  }
}

describe("portable signature verifier against node:crypto", () => {
  it("RSA-2048 and RSA-3072 PKCS#1 v1.5 with SHA-256, SHA-384, SHA-512", () => {
    for (const bits of [2048, 3072]) {
      const pair = generateKeyPairSync("rsa", { modulusLength: bits });
      for (const hash of ["SHA-256", "SHA-384", "SHA-512"] as const) roundTrips(`RSA-${bits} ${hash}`, pair, { kind: "rsa-pkcs1", hash }, 8);
    }
  });

  it("ECDSA P-256 and P-384 with SHA-256 and SHA-384 (truncation included)", () => {
    for (const curve of ["P-256", "P-384"] as const) {
      const pair = generateKeyPairSync("ec", { namedCurve: curve });
      for (const hash of ["SHA-256", "SHA-384", "SHA-512"] as const) roundTrips(`${curve} ${hash}`, pair, { kind: "ecdsa", hash }, 12);
    }
  });

  it("refuses RSA keys below 2048 bits and mismatched key types", () => {
    const small = generateKeyPairSync("rsa", { modulusLength: 1024 });
    const message = new Uint8Array([1, 2, 3]);
    const signature = new Uint8Array(sign("sha256", message, small.privateKey));
    assert.equal(verifier.verify({ kind: "rsa-pkcs1", hash: "SHA-256" }, portableKey(small.publicKey), message, signature), false);
    const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const ecSignature = new Uint8Array(sign("sha256", message, ec.privateKey));
    assert.equal(verifier.verify({ kind: "rsa-pkcs1", hash: "SHA-256" }, portableKey(ec.publicKey), message, ecSignature), false);
  });

  it("refuses a point that is not on the curve", () => {
    const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const message = new Uint8Array([9]);
    const signature = new Uint8Array(sign("sha256", message, ec.privateKey));
    const key = portableKey(ec.publicKey) as Extract<PublicKey, { kind: "ec" }>;
    const off = key.point.slice();
    off[64] ^= 1;
    assert.equal(verifier.verify({ kind: "ecdsa", hash: "SHA-256" }, { ...key, point: off }, message, signature), false);
  });
});
