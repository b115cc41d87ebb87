/** Facts about the running system for diagnostics (ESP-IDF on the device, the process on the host). */
export interface SystemInfo {
  /** Why the device last started: "power-on", "watchdog", "panic", "software", "brownout", ... */
  resetReason(): string;
  /** Free heap in bytes, when known. */
  freeHeap(): number | undefined;
}
