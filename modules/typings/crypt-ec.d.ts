// Types for the parts of the SDK's ECDSA (modules/crypt/etc/ecdsa.js, curve.js; modules/crypt/arith/ecp.js) the
// crypto adapter uses. The SDK ships no typings for them.
declare module "ecp" {
  export default class ECPoint {
    /** An uncompressed point 0x04 || X || Y. */
    static fromOctetString(os: Uint8Array): ECPoint;
  }
}
declare module "curve" {
  export default class Curve {
    constructor(name: "secp256r1" | "secp384r1");
  }
}
declare module "ecdsa" {
  import type ECPoint from "ecp";
  import type Curve from "curve";
  export default class ECDSA {
    constructor(key: ECPoint, curve: Curve);
    /** `H`: the message digest; `sig`: DER when `asn1`, else r || s of the order size each. */
    verify(H: ArrayBuffer, sig: ArrayBuffer, asn1?: boolean): boolean;
  }
}
