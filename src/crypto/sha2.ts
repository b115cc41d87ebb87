/**
 * SHA-256, SHA-384 and SHA-512 (FIPS 180-4) in portable TypeScript. The certificate validator needs SHA-384 and
 * SHA-512 as well as SHA-256, and the XS lane has no native hash; on the device the SDK's native digests are
 * injected instead (modules/crypto), these are the reference and the fallback.
 */
import type { Sha256 } from "../ports/crypto";

export type HashName = "SHA-256" | "SHA-384" | "SHA-512";

/** An incremental hash: update() any number of times, then digest() once. */
export interface Hash {
  update(data: Uint8Array): void;
  digest(): Uint8Array;
}

/** Makes a fresh hash of the named kind (the validator's one dependency for hashing). */
export type HashFactory = (name: HashName) => Hash;

export const portableHash: HashFactory = (name) => (name === "SHA-256" ? new PortableSha256() : new PortableSha512(name === "SHA-384"));

/** One-shot convenience. */
export function hashBytes(factory: HashFactory, name: HashName, data: Uint8Array): Uint8Array {
  const hash = factory(name);
  hash.update(data);
  return hash.digest();
}

// ---- shared block buffering ---------------------------------------------------------------------------------------

abstract class BlockHash implements Hash {
  private readonly block: Uint8Array;
  private fill = 0;
  /** Message length in bytes (a double: exact below 2^53, far beyond anything hashed here). */
  private length = 0;
  private finished = false;

  constructor(private readonly blockBytes: number, private readonly lengthBytes: number) {
    this.block = new Uint8Array(blockBytes);
  }

  update(data: Uint8Array): void {
    if (this.finished) throw new Error("hash: digest() already called");
    this.length += data.length;
    let i = 0;
    while (i < data.length) {
      const n = Math.min(this.blockBytes - this.fill, data.length - i);
      this.block.set(data.subarray(i, i + n), this.fill);
      this.fill += n;
      i += n;
      if (this.fill === this.blockBytes) {
        this.compress(this.block);
        this.fill = 0;
      }
    }
  }

  digest(): Uint8Array {
    if (this.finished) throw new Error("hash: digest() already called");
    this.finished = true;
    const bits = this.length * 8;
    const block = this.block;
    block[this.fill++] = 0x80;
    if (this.fill > this.blockBytes - this.lengthBytes) {
      block.fill(0, this.fill);
      this.compress(block);
      this.fill = 0;
    }
    block.fill(0, this.fill);
    // The length field, big-endian; only its low 64 bits can be non-zero.
    const view = new DataView(block.buffer, block.byteOffset, block.byteLength);
    view.setUint32(this.blockBytes - 8, Math.floor(bits / 0x1_0000_0000));
    view.setUint32(this.blockBytes - 4, bits >>> 0);
    this.compress(block);
    return this.output();
  }

  protected abstract compress(block: Uint8Array): void;
  protected abstract output(): Uint8Array;
}

// ---- SHA-256 --------------------------------------------------------------------------------------------------------

const K256 = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
  0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
  0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

export class PortableSha256 extends BlockHash implements Sha256 {
  private readonly h = new Uint32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
  private readonly w = new Uint32Array(64);

  constructor() {
    super(64, 8);
  }

  protected compress(block: Uint8Array): void {
    const w = this.w;
    for (let t = 0; t < 16; t++) w[t] = ((block[t * 4]! << 24) | (block[t * 4 + 1]! << 16) | (block[t * 4 + 2]! << 8) | block[t * 4 + 3]!) >>> 0;
    for (let t = 16; t < 64; t++) {
      const a = w[t - 15]!;
      const b = w[t - 2]!;
      const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
      const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
      w[t] = (w[t - 16]! + s0 + w[t - 7]! + s1) >>> 0;
    }
    const h = this.h;
    let a = h[0]!, b = h[1]!, c = h[2]!, d = h[3]!, e = h[4]!, f = h[5]!, g = h[6]!, k = h[7]!;
    for (let t = 0; t < 64; t++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const ch = (e & f) ^ (~e & g);
      const t1 = (k + S1 + ch + K256[t]! + w[t]!) >>> 0;
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const maj = (a & b) ^ (a & c) ^ (b & c);
      const t2 = (S0 + maj) >>> 0;
      k = g;
      g = f;
      f = e;
      e = (d + t1) >>> 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) >>> 0;
    }
    h[0] = (h[0]! + a) >>> 0;
    h[1] = (h[1]! + b) >>> 0;
    h[2] = (h[2]! + c) >>> 0;
    h[3] = (h[3]! + d) >>> 0;
    h[4] = (h[4]! + e) >>> 0;
    h[5] = (h[5]! + f) >>> 0;
    h[6] = (h[6]! + g) >>> 0;
    h[7] = (h[7]! + k) >>> 0;
  }

  protected output(): Uint8Array {
    return wordsToBytes(this.h, 8);
  }
}

// ---- SHA-512 / SHA-384 (64-bit words as hi/lo pairs of 32 bits) ---------------------------------------------------

const K512 = new Uint32Array([
  0x428a2f98, 0xd728ae22, 0x71374491, 0x23ef65cd, 0xb5c0fbcf, 0xec4d3b2f, 0xe9b5dba5, 0x8189dbbc, 0x3956c25b, 0xf348b538, 0x59f111f1, 0xb605d019,
  0x923f82a4, 0xaf194f9b, 0xab1c5ed5, 0xda6d8118, 0xd807aa98, 0xa3030242, 0x12835b01, 0x45706fbe, 0x243185be, 0x4ee4b28c, 0x550c7dc3, 0xd5ffb4e2,
  0x72be5d74, 0xf27b896f, 0x80deb1fe, 0x3b1696b1, 0x9bdc06a7, 0x25c71235, 0xc19bf174, 0xcf692694, 0xe49b69c1, 0x9ef14ad2, 0xefbe4786, 0x384f25e3,
  0x0fc19dc6, 0x8b8cd5b5, 0x240ca1cc, 0x77ac9c65, 0x2de92c6f, 0x592b0275, 0x4a7484aa, 0x6ea6e483, 0x5cb0a9dc, 0xbd41fbd4, 0x76f988da, 0x831153b5,
  0x983e5152, 0xee66dfab, 0xa831c66d, 0x2db43210, 0xb00327c8, 0x98fb213f, 0xbf597fc7, 0xbeef0ee4, 0xc6e00bf3, 0x3da88fc2, 0xd5a79147, 0x930aa725,
  0x06ca6351, 0xe003826f, 0x14292967, 0x0a0e6e70, 0x27b70a85, 0x46d22ffc, 0x2e1b2138, 0x5c26c926, 0x4d2c6dfc, 0x5ac42aed, 0x53380d13, 0x9d95b3df,
  0x650a7354, 0x8baf63de, 0x766a0abb, 0x3c77b2a8, 0x81c2c92e, 0x47edaee6, 0x92722c85, 0x1482353b, 0xa2bfe8a1, 0x4cf10364, 0xa81a664b, 0xbc423001,
  0xc24b8b70, 0xd0f89791, 0xc76c51a3, 0x0654be30, 0xd192e819, 0xd6ef5218, 0xd6990624, 0x5565a910, 0xf40e3585, 0x5771202a, 0x106aa070, 0x32bbd1b8,
  0x19a4c116, 0xb8d2d0c8, 0x1e376c08, 0x5141ab53, 0x2748774c, 0xdf8eeb99, 0x34b0bcb5, 0xe19b48a8, 0x391c0cb3, 0xc5c95a63, 0x4ed8aa4a, 0xe3418acb,
  0x5b9cca4f, 0x7763e373, 0x682e6ff3, 0xd6b2b8a3, 0x748f82ee, 0x5defb2fc, 0x78a5636f, 0x43172f60, 0x84c87814, 0xa1f0ab72, 0x8cc70208, 0x1a6439ec,
  0x90befffa, 0x23631e28, 0xa4506ceb, 0xde82bde9, 0xbef9a3f7, 0xb2c67915, 0xc67178f2, 0xe372532b, 0xca273ece, 0xea26619c, 0xd186b8c7, 0x21c0c207,
  0xeada7dd6, 0xcde0eb1e, 0xf57d4f7f, 0xee6ed178, 0x06f067aa, 0x72176fba, 0x0a637dc5, 0xa2c898a6, 0x113f9804, 0xbef90dae, 0x1b710b35, 0x131c471b,
  0x28db77f5, 0x23047d84, 0x32caab7b, 0x40c72493, 0x3c9ebe0a, 0x15c9bebc, 0x431d67c4, 0x9c100d4c, 0x4cc5d4be, 0xcb3e42b6, 0x597f299c, 0xfc657e2a,
  0x5fcb6fab, 0x3ad6faec, 0x6c44198c, 0x4a475817,
]);

const IV512 = [
  0x6a09e667, 0xf3bcc908, 0xbb67ae85, 0x84caa73b, 0x3c6ef372, 0xfe94f82b, 0xa54ff53a, 0x5f1d36f1, 0x510e527f, 0xade682d1, 0x9b05688c, 0x2b3e6c1f,
  0x1f83d9ab, 0xfb41bd6b, 0x5be0cd19, 0x137e2179,
];
const IV384 = [
  0xcbbb9d5d, 0xc1059ed8, 0x629a292a, 0x367cd507, 0x9159015a, 0x3070dd17, 0x152fecd8, 0xf70e5939, 0x67332667, 0xffc00b31, 0x8eb44a87, 0x68581511,
  0xdb0c2e0d, 0x64f98fa7, 0x47b5481d, 0xbefa4fa4,
];

export class PortableSha512 extends BlockHash {
  private readonly h: Uint32Array;
  private readonly w = new Uint32Array(160);

  /** `sha384`: the SHA-384 variant (other initial values, 48-byte output). */
  constructor(private readonly sha384 = false) {
    super(128, 16);
    this.h = new Uint32Array(sha384 ? IV384 : IV512);
  }

  protected compress(block: Uint8Array): void {
    const w = this.w;
    for (let t = 0; t < 32; t++) w[t] = ((block[t * 4]! << 24) | (block[t * 4 + 1]! << 16) | (block[t * 4 + 2]! << 8) | block[t * 4 + 3]!) >>> 0;
    for (let t = 16; t < 80; t++) {
      // s0 = rotr1 ^ rotr8 ^ shr7 of w[t-15]; s1 = rotr19 ^ rotr61 ^ shr6 of w[t-2]
      const xh = w[(t - 15) * 2]!, xl = w[(t - 15) * 2 + 1]!;
      const s0h = (rotrH(xh, xl, 1) ^ rotrH(xh, xl, 8) ^ (xh >>> 7)) >>> 0;
      const s0l = (rotrL(xh, xl, 1) ^ rotrL(xh, xl, 8) ^ ((xl >>> 7) | (xh << 25))) >>> 0;
      const yh = w[(t - 2) * 2]!, yl = w[(t - 2) * 2 + 1]!;
      const s1h = (rotrH(yh, yl, 19) ^ rotrH(yh, yl, 61) ^ (yh >>> 6)) >>> 0;
      const s1l = (rotrL(yh, yl, 19) ^ rotrL(yh, yl, 61) ^ ((yl >>> 6) | (yh << 26))) >>> 0;
      let l = s0l + s1l + w[(t - 7) * 2 + 1]! + w[(t - 16) * 2 + 1]!;
      const h = s0h + s1h + w[(t - 7) * 2]! + w[(t - 16) * 2]! + Math.floor(l / 0x1_0000_0000);
      l >>>= 0;
      w[t * 2] = h >>> 0;
      w[t * 2 + 1] = l;
    }
    const H = this.h;
    let ah = H[0]!, al = H[1]!, bh = H[2]!, bl = H[3]!, ch = H[4]!, cl = H[5]!, dh = H[6]!, dl = H[7]!;
    let eh = H[8]!, el = H[9]!, fh = H[10]!, fl = H[11]!, gh = H[12]!, gl = H[13]!, hh = H[14]!, hl = H[15]!;
    for (let t = 0; t < 80; t++) {
      // T1 = h + Σ1(e) + Ch(e,f,g) + K[t] + W[t]
      const S1h = rotrH(eh, el, 14) ^ rotrH(eh, el, 18) ^ rotrH(eh, el, 41);
      const S1l = rotrL(eh, el, 14) ^ rotrL(eh, el, 18) ^ rotrL(eh, el, 41);
      const chh = (eh & fh) ^ (~eh & gh);
      const chl = (el & fl) ^ (~el & gl);
      let t1l = hl + (S1l >>> 0) + (chl >>> 0) + K512[t * 2 + 1]! + w[t * 2 + 1]!;
      let t1h = hh + (S1h >>> 0) + (chh >>> 0) + K512[t * 2]! + w[t * 2]! + Math.floor(t1l / 0x1_0000_0000);
      t1l >>>= 0;
      t1h >>>= 0;
      // T2 = Σ0(a) + Maj(a,b,c)
      const S0h = rotrH(ah, al, 28) ^ rotrH(ah, al, 34) ^ rotrH(ah, al, 39);
      const S0l = rotrL(ah, al, 28) ^ rotrL(ah, al, 34) ^ rotrL(ah, al, 39);
      const mh = (ah & bh) ^ (ah & ch) ^ (bh & ch);
      const ml = (al & bl) ^ (al & cl) ^ (bl & cl);
      const t2l = (S0l >>> 0) + (ml >>> 0);
      const t2h = (S0h >>> 0) + (mh >>> 0) + Math.floor(t2l / 0x1_0000_0000);
      hh = gh;
      hl = gl;
      gh = fh;
      gl = fl;
      fh = eh;
      fl = el;
      const dlSum = dl + t1l;
      eh = (dh + t1h + Math.floor(dlSum / 0x1_0000_0000)) >>> 0;
      el = dlSum >>> 0;
      dh = ch;
      dl = cl;
      ch = bh;
      cl = bl;
      bh = ah;
      bl = al;
      const aSum = t1l + (t2l >>> 0);
      ah = (t1h + t2h + Math.floor(aSum / 0x1_0000_0000)) >>> 0;
      al = aSum >>> 0;
    }
    add64(H, 0, ah, al);
    add64(H, 2, bh, bl);
    add64(H, 4, ch, cl);
    add64(H, 6, dh, dl);
    add64(H, 8, eh, el);
    add64(H, 10, fh, fl);
    add64(H, 12, gh, gl);
    add64(H, 14, hh, hl);
  }

  protected output(): Uint8Array {
    return wordsToBytes(this.h, this.sha384 ? 12 : 16);
  }
}

/** High word of the 64-bit rotate-right of (h, l) by n (0 < n < 64). */
function rotrH(h: number, l: number, n: number): number {
  return n < 32 ? (h >>> n) | (l << (32 - n)) : (l >>> (n - 32)) | (h << (64 - n));
}

/** Low word of the 64-bit rotate-right of (h, l) by n (0 < n < 64). */
function rotrL(h: number, l: number, n: number): number {
  return n < 32 ? (l >>> n) | (h << (32 - n)) : (h >>> (n - 32)) | (l << (64 - n));
}

function add64(words: Uint32Array, at: number, h: number, l: number): void {
  const low = words[at + 1]! + l;
  words[at] = (words[at]! + h + Math.floor(low / 0x1_0000_0000)) >>> 0;
  words[at + 1] = low >>> 0;
}

function wordsToBytes(words: Uint32Array, count: number): Uint8Array {
  const out = new Uint8Array(count * 4);
  for (let i = 0; i < count; i++) {
    const v = words[i]!;
    out[i * 4] = v >>> 24;
    out[i * 4 + 1] = (v >>> 16) & 0xff;
    out[i * 4 + 2] = (v >>> 8) & 0xff;
    out[i * 4 + 3] = v & 0xff;
  }
  return out;
}
