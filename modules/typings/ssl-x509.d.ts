// Types for the two SDK crypt helpers (modules/crypt/etc/x509.js, pkcs8.js) the certificate manager
// (modules/tls-trust) uses to hand keys to the SDK's handshake. The SDK ships no typings for them; the key
// objects are opaque here and go straight back into the SDK.
declare module "x509" {
  const X509: {
    decode(der: Uint8Array | ArrayBuffer): { tbs: unknown; algo: unknown; sig: unknown; spki: unknown };
  };
  export default X509;
}
declare module "pkcs8" {
  export default class PKCS8 {
    static parse(der: Uint8Array): unknown;
  }
}
