/**
 * Append-only record storage: a set of named segments, each a byte string that only grows at its end
 * and is dropped as a whole. The persistent outbox (src/storage/outbox-log.ts) is built on it, so the
 * flash sees appends and whole-segment erases only, never an in-place rewrite.
 *
 * On the device a segment is a file (LittleFS/SPIFFS: `file` module, opened for append); on the host a
 * file in a directory (host/adapters/file-record-storage.ts); in tests memory that can simulate power loss
 * (test/support/memory-record-storage.ts). Names are 1..15 characters of [a-z0-9._-], so they also work
 * as NVS keys or short 8.3-ish file names.
 *
 * All operations are synchronous, as flash access is on the device. A failing operation throws.
 */
export interface RecordStorage {
  /** Names of the segments that exist, in no particular order. */
  list(): string[];
  /** The whole content of a segment (empty when it does not exist). */
  read(name: string): Uint8Array;
  /**
   * Appends bytes at the end of a segment, creating it when absent. Durable when it returns (fsync):
   * a power loss afterwards keeps them. A power loss during the call may leave any prefix of them
   * (a torn write), possibly followed by garbage; the reader must cope with that.
   */
  append(name: string, bytes: Uint8Array): void;
  /** Length of a segment in bytes (0 when it does not exist). */
  size(name: string): number;
  /** Removes a segment; an absent one is fine. */
  erase(name: string): void;
}

export const MAX_SEGMENT_NAME_LENGTH = 15;

export function checkSegmentName(name: string): void {
  if (!/^[a-z0-9._-]{1,15}$/.test(name) || name === "." || name === "..") {
    throw new RangeError(`segment name ${JSON.stringify(name)} must be 1..${MAX_SEGMENT_NAME_LENGTH} characters of [a-z0-9._-]`);
  }
}
