/**
 * The device's app partitions as ESP-IDF's OTA API and app-rollback bootloader see them (esp_ota_ops.h). The
 * portable PartitionUpdateWriter (src/update) builds the UpdateWriter on this; the Moddable adapter implements it
 * with the SDK's `embedded:update` / `embedded:storage/flash` and a small native module for what the SDK lacks
 * (rollback, partition states), the simulator with files that follow the bootloader's rules.
 *
 * The bootloader's rules (CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE): an image selected by `complete()` is "new"; its
 * first boot makes it "pendingVerify"; a restart before `markValid()` makes it "aborted" and boots the previous
 * image again. So on the ESP32 a pending image gets exactly one boot.
 */

import type { KeyValueStore } from "./storage";
import type { Logger } from "./logger";

/** esp_ota_img_states_t; "undefined" also for an image flashed over the serial port (no otadata entry). */
export type ImageState = "new" | "pendingVerify" | "valid" | "invalid" | "aborted" | "undefined";

export interface PartitionInfo {
  /** Partition table label, e.g. "ota_0". */
  readonly label: string;
  /** Bytes. */
  readonly size: number;
  readonly state: ImageState;
  /** The image's version where the partition records it (the simulator); undefined on the ESP32. */
  readonly version?: string;
}

/** esp_ota_begin / esp_ota_write / esp_ota_end + esp_ota_set_boot_partition on the next update partition. */
export interface PartitionImageWriter {
  /** Appends (sequential writes; the flash is erased as the image grows). Throws on a flash error. */
  write(chunk: Uint8Array): void;
  /** Validates the image (esp_ota_end) and selects it for the next boot. Throws when either fails. */
  complete(): void;
  /** esp_ota_abort; the boot partition is unchanged. Idempotent, never throws. */
  abort(): void;
}

export interface OtaPartitions {
  /** The partition this code runs from (esp_ota_get_running_partition). */
  running(): PartitionInfo;
  /** The partition the bootloader starts next (esp_ota_get_boot_partition). */
  boot(): PartitionInfo;
  /** Where an update goes (esp_ota_get_next_update_partition). */
  next(): PartitionInfo;
  /** The partition last made invalid or aborted (esp_ota_get_last_invalid_partition), if any. */
  lastInvalid(): PartitionInfo | undefined;
  /** Opens the next partition for this image (the ESP32 uses its size; the simulator also keeps its version). */
  open(image: { readonly size: number; readonly version: string }): PartitionImageWriter;
  /** Selects the running partition for the next boot again (undoes a completed, not yet booted update). */
  selectRunning(): void;
  /** esp_ota_mark_app_valid_cancel_rollback. */
  markValid(): void;
  /** esp_ota_mark_app_invalid_rollback_and_reboot: does not return on the device. */
  markInvalidAndReboot(): void;
}

/** What every platform's `openOtaPartitions` (modules/ota-partitions) takes. */
export interface OtaPartitionsOpenOptions {
  readonly store: KeyValueStore;
  /** The version built into this image (the simulator's factory image). */
  readonly builtVersion: string;
  /** Restarts the device (the simulator's markInvalidAndReboot). */
  readonly restart: () => void;
  readonly logger: Logger;
  /** The simulator's folder for its partition files (config.file.root). */
  readonly fileRoot?: string;
}
