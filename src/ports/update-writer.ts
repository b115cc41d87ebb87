/**
 * The firmware slots (A/B OTA partitions) and the boot state. On the ESP32: esp_ota_begin/write/end,
 * esp_ota_set_boot_partition, esp_ota_mark_app_valid_cancel_rollback and
 * esp_ota_mark_app_invalid_rollback_and_reboot; on the host: two files and an atomically written boot record.
 */

export interface SlotInfo {
  /** The version of the image running now. */
  readonly runningVersion: string;
  /** Partition / slot label of the running image (e.g. "ota_0", "a"). */
  readonly runningSlot: string;
  /** The slot an update is written to. */
  readonly nextSlot: string;
  /** Its size in bytes: an image must fit. */
  readonly nextSlotSize: number;
}

export interface RollbackRecord {
  /** The version that was rolled back. */
  readonly version: string;
  /** Why (e.g. "not confirmed within 300 s"). */
  readonly reason: string;
  /** The image's SHA-256 (hex), so the same image is not tried again by itself. */
  readonly sha256?: string;
}

export interface BootState {
  /** The running image was installed by an update and has not been marked valid yet. */
  readonly pendingVerification: boolean;
  /** How many times the pending image has been booted (1 on its first boot); 0 when nothing is pending. */
  readonly pendingBootCount: number;
  /** The version that ran before the pending image. */
  readonly previousVersion?: string;
  /** Left by a rollback for the image that runs again, until acknowledged. */
  readonly rollback?: RollbackRecord;
}

export interface ImageInfo {
  readonly size: number;
  readonly version: string;
  /** Lower-case hex. */
  readonly sha256: string;
}

export interface UpdateSession {
  /** Bytes written so far. */
  readonly written: number;
  /** Appends the next bytes (sequential only); throws on a flash error or when more than `size` bytes arrive. */
  write(chunk: Uint8Array): void;
  /**
   * All `size` bytes are written and verified: finalise the image (esp_ota_end validates it) and select it for the
   * next boot, pending verification. Until this returns, the boot partition is unchanged.
   */
  complete(): void;
  /** Abandons the image; the boot partition is unchanged. Idempotent, never throws. */
  cancel(): void;
}

export interface UpdateWriter {
  slots(): SlotInfo;
  /** Erases / opens the next slot for an image of `image.size` bytes (a RangeError if it does not fit). One session at a time. */
  begin(image: ImageInfo): UpdateSession;
  bootState(): BootState;
  /** Confirms the running (pending) image: no rollback any more. */
  markValid(): void;
  /**
   * Gives up on the running pending image: selects the previous slot, records why, and restarts into it
   * (on the device this does not return).
   */
  markInvalidAndRollback(reason: string): void;
  /** Forgets the rollback record once it has been reported. */
  clearRollback(): void;
}
