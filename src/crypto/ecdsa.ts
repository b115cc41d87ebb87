/**
 * ECDSA signature verification on NIST P-256 and P-384 (FIPS 186-5) with BigInt: Jacobian coordinates for
 * a = -3 and Shamir's trick for u1·G + u2·Q. Public data only, so no constant-time care is needed. Public keys
 * are checked to lie on the curve, signatures to be strict DER with 0 < r, s < n.
 */
import { bitLength, bytesToBigInt, mod, modInverse } from "./big-bytes";
import { DerReader, TAG, parseOne, unsignedInteger } from "../x509/der";

export type CurveName = "P-256" | "P-384";

interface CurveParameters {
  readonly p: bigint;
  readonly b: bigint;
  readonly n: bigint;
  readonly gx: bigint;
  readonly gy: bigint;
  readonly bytes: number;
}

const CURVES: Readonly<Record<CurveName, CurveParameters>> = {
  "P-256": {
    p: 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn,
    b: 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn,
    n: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
    gx: 0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296n,
    gy: 0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5n,
    bytes: 32,
  },
  "P-384": {
    p: 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffffn,
    b: 0xb3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aefn,
    n: 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
    gx: 0xaa87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b9859f741e082542a385502f25dbf55296c3a545e3872760ab7n,
    gy: 0x3617de4a96262c6f5d9e98bf9292dc29f8f41dbd289a147ce9da3113b5f0b8c00a60b1ce1d7e819d7a431d7c90ea0e5fn,
    bytes: 48,
  },
};

/** A point in Jacobian coordinates; z = 0 is the point at infinity. */
interface Jacobian {
  readonly x: bigint;
  readonly y: bigint;
  readonly z: bigint;
}

const INFINITY: Jacobian = { x: 1n, y: 1n, z: 0n };

/** The affine (x, y) of an uncompressed point 0x04 || X || Y on the curve, or undefined. */
export function decodePoint(curve: CurveName, point: Uint8Array): { x: bigint; y: bigint } | undefined {
  const c = CURVES[curve];
  if (point.length !== 1 + 2 * c.bytes || point[0] !== 0x04) return undefined;
  const x = bytesToBigInt(point.subarray(1, 1 + c.bytes));
  const y = bytesToBigInt(point.subarray(1 + c.bytes));
  if (x >= c.p || y >= c.p) return undefined;
  if (mod(y * y - (x * x * x - 3n * x + c.b), c.p) !== 0n) return undefined;
  return { x, y };
}

/** (r, s) of a strict DER ECDSA signature with 0 < r, s < n, or undefined. */
export function decodeSignature(curve: CurveName, der: Uint8Array): { r: bigint; s: bigint } | undefined {
  const n = CURVES[curve].n;
  try {
    const reader = DerReader.of(parseOne(der, TAG.SEQUENCE), TAG.SEQUENCE);
    const r = bytesToBigInt(unsignedInteger(reader.read(TAG.INTEGER)));
    const s = bytesToBigInt(unsignedInteger(reader.read(TAG.INTEGER)));
    reader.end("the signature");
    if (r <= 0n || r >= n || s <= 0n || s >= n) return undefined;
    return { r, s };
  } catch {
    return undefined;
  }
}

/** True only if `signature` (DER) is a valid ECDSA signature of `digest` under the public `point`. */
export function verifyEcdsa(curve: CurveName, point: Uint8Array, digest: Uint8Array, signature: Uint8Array): boolean {
  const c = CURVES[curve];
  const q = decodePoint(curve, point);
  const rs = decodeSignature(curve, signature);
  if (!q || !rs) return false;
  // e: the leftmost bitlen(n) bits of the digest
  let e = bytesToBigInt(digest);
  const excess = digest.length * 8 - bitLength(c.n);
  if (excess > 0) e >>= BigInt(excess);
  const w = modInverse(rs.s, c.n);
  const u1 = mod(e * w, c.n);
  const u2 = mod(rs.r * w, c.n);
  const sum = shamir(c, u1, { x: c.gx, y: c.gy, z: 1n }, u2, { x: q.x, y: q.y, z: 1n });
  if (sum.z === 0n) return false;
  const zInverse = modInverse(sum.z, c.p);
  const x = mod(sum.x * zInverse * zInverse, c.p);
  return mod(x, c.n) === rs.r;
}

/** a·P + b·Q by interleaved double-and-add. */
function shamir(c: CurveParameters, a: bigint, P: Jacobian, b: bigint, Q: Jacobian): Jacobian {
  const PQ = add(c, P, Q);
  let result = INFINITY;
  const bits = Math.max(bitLength(a), bitLength(b));
  for (let i = bits - 1; i >= 0; i--) {
    result = double(c, result);
    const bit = BigInt(i);
    const pa = (a >> bit) & 1n;
    const pb = (b >> bit) & 1n;
    if (pa && pb) result = add(c, result, PQ);
    else if (pa) result = add(c, result, P);
    else if (pb) result = add(c, result, Q);
  }
  return result;
}

/** 2·P for a = -3 (dbl-2001-b). */
function double(c: CurveParameters, P: Jacobian): Jacobian {
  if (P.z === 0n || P.y === 0n) return INFINITY;
  const p = c.p;
  const delta = (P.z * P.z) % p;
  const gamma = (P.y * P.y) % p;
  const beta = (P.x * gamma) % p;
  const alpha = mod(3n * (P.x - delta) * (P.x + delta), p);
  const x = mod(alpha * alpha - 8n * beta, p);
  const z = mod((P.y + P.z) * (P.y + P.z) - gamma - delta, p);
  const y = mod(alpha * (4n * beta - x) - 8n * gamma * gamma, p);
  return { x, y, z };
}

/** P + Q (add-2007-bl), handling equal and opposite points. */
function add(c: CurveParameters, P: Jacobian, Q: Jacobian): Jacobian {
  if (P.z === 0n) return Q;
  if (Q.z === 0n) return P;
  const p = c.p;
  const z1z1 = (P.z * P.z) % p;
  const z2z2 = (Q.z * Q.z) % p;
  const u1 = (P.x * z2z2) % p;
  const u2 = (Q.x * z1z1) % p;
  const s1 = (P.y * Q.z * z2z2) % p;
  const s2 = (Q.y * P.z * z1z1) % p;
  const h = mod(u2 - u1, p);
  const r = mod(2n * (s2 - s1), p);
  if (h === 0n) return r === 0n ? double(c, P) : INFINITY;
  const i = (4n * h * h) % p;
  const j = (h * i) % p;
  const v = (u1 * i) % p;
  const x = mod(r * r - j - 2n * v, p);
  const y = mod(r * (v - x) - 2n * s1 * j, p);
  const z = mod(((P.z + Q.z) * (P.z + Q.z) - z1z1 - z2z2) * h, p);
  return { x, y, z };
}
