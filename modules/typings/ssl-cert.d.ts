// Types for the one part of the SDK's TLS certificate manager (modules/crypt/ssl/ssl_cert.js, module "ssl/cert")
// that the TLS adapters use. The SDK ships no typings for it.
declare module "ssl/cert" {
  export default class CertificateManager {
    /** Adds a trusted root (DER) for every TLS connection of this VM; duplicates are ignored. */
    static register(certificate: ArrayBufferLike): void;
  }
}
