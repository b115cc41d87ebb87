// The project's native module modules/system-info/esp32/system-info-native (ESP-IDF reset reason and heap).
// Listed by that module's manifest (for mcconfig) and by tsconfig.moddable.json (for the CI type-check).
declare module "native/system-info" {
  /** esp_reset_reason() as a word: power-on, software, panic, task-watchdog, brownout, ... or unknown. */
  export function resetReason(): string;
  /** esp_get_free_heap_size(), bytes. */
  export function freeHeap(): number;
}
