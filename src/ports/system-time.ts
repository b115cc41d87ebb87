/**
 * Setting the platform clock. TLS checks certificate dates against it, so on the device SNTP must set
 * it before any TLS connection. On the host the OS clock is used as it is (setting it is a no-op).
 */
export interface SystemTime {
  set(epochMs: number): void;
}
