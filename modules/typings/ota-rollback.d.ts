// The project's native module modules/ota-partitions/esp32/ota-rollback (ESP-IDF app rollback). Listed by that
// module's manifest (for mcconfig) and by tsconfig.moddable.json (for the CI type-check).
declare module "native/ota-rollback" {
  export interface NativePartition {
    readonly label: string;
    readonly size: number;
    readonly state: "new" | "pendingVerify" | "valid" | "invalid" | "aborted" | "undefined";
  }
  export function running(): NativePartition;
  export function boot(): NativePartition;
  export function next(): NativePartition | undefined;
  export function lastInvalid(): NativePartition | undefined;
  export function selectRunning(): void;
  export function markValid(): void;
  export function markInvalidAndReboot(): void;
  export function rollbackEnabled(): boolean;
}
