// Modules that SDK 8.2.3 ships typings for but the registry package @moddable/typings 5.6.0 does not.
// Used only by `npx tsc -p tsconfig.moddable.json` (the CI check against the registry typings); mcconfig builds
// with the SDK's own typings and never sees this file (no manifest lists it). The adapters cast these imports to
// narrow local types, so a minimal declaration is enough. Remove an entry once the registry typings have it
// (both at once would be a duplicate declaration).
declare module "embedded:network/interface/wifi" {
  const WiFi: unknown;
  export default WiFi;
}
declare module "embedded:update" {
  const Update: unknown;
  export default Update;
}
declare module "embedded:storage/flash" {
  const Flash: unknown;
  export default Flash;
}
declare module "crypt" {
  export const Digest: unknown;
}
declare module "embedded:network/http/server" {
  const HTTPServer: unknown;
  export default HTTPServer;
}
