/**
 * Small persistent key-value storage (NVS `preference` on the device: keys <= 15 characters,
 * values <= 3999 bytes; a file on the host). Synchronous, as flash access is on the device.
 */
export interface KeyValueStore {
  get(key: string): string | undefined;
  set(key: string, value: string): void;
  delete(key: string): void;
}

export const MAX_KEY_LENGTH = 15;
/** ESP-IDF's NVS takes strings of 4000 bytes including the terminating NUL. */
export const MAX_VALUE_BYTES = 3999;

/** Checks the device's limits on every platform, so a host run catches what would fail on flash. */
export function checkStorageLimits(key: string, value?: string): void {
  if (key.length === 0 || key.length > MAX_KEY_LENGTH) throw new RangeError(`storage key ${JSON.stringify(key)} must be 1..${MAX_KEY_LENGTH} characters`);
  if (value !== undefined && new TextEncoder().encode(value).length > MAX_VALUE_BYTES) {
    throw new RangeError(`value for ${key} exceeds ${MAX_VALUE_BYTES} bytes`);
  }
}

/** In-memory store (tests, and a fallback when flash is unusable). */
export class MemoryStore implements KeyValueStore {
  private readonly map = new Map<string, string>();
  get(key: string): string | undefined {
    return this.map.get(key);
  }
  set(key: string, value: string): void {
    checkStorageLimits(key, value);
    this.map.set(key, value);
  }
  delete(key: string): void {
    this.map.delete(key);
  }
}
