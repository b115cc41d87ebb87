// For `npx tsc -p tsconfig.moddable.json` only, like registry-gaps.d.ts: tsconfig.moddable.json does not list
// @moddable/typings' file.d.ts, and mcconfig (which builds with the SDK's own typings) never sees this file. The
// record-storage adapter casts these to narrow local types. Delete this file if file.d.ts is ever added to that
// tsconfig (both at once would be a duplicate declaration).
declare module "file" {
  export const File: unknown;
  export const Iterator: unknown;
}
