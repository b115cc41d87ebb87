/**
 * OtaPartitions (src/ports/ota-partitions.ts) on the ESP32: images are written with the SDK's ECMA-419
 * `embedded:update` (esp_ota_begin/write/end, esp_ota_set_boot_partition) into `embedded:storage/flash`'s
 * "nextota" partition; partition states and the rollback calls come from this module's native part
 * (esp32/ota-rollback.c), which the SDK lacks.
 *
 * Needs the partition table and sdkconfig in sdkconfig/ (two OTA app partitions + otadata,
 * CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE). Without the rollback bootloader a bad image could not be undone, so
 * `openOtaPartitions` then returns undefined and the firmware runs without updates (logged).
 */
import Update from "embedded:update";
import Flash from "embedded:storage/flash";
import * as Native from "native/ota-rollback";
import type { OtaPartitions, OtaPartitionsOpenOptions, PartitionImageWriter, PartitionInfo } from "ports/ota-partitions";

interface FlashPartition {
  close(): void;
}
interface Updater {
  write(bytes: ArrayBufferLike | ArrayBufferView): void;
  complete(): void;
  close(): void;
}
const FlashStorage = Flash as unknown as { open(options: { path: string; mode?: string }): FlashPartition };
const Updates = Update as unknown as { open(options: { partition: FlashPartition; byteLength?: number }): Updater };

export class EspOtaPartitions implements OtaPartitions {
  running(): PartitionInfo {
    return info(Native.running());
  }

  boot(): PartitionInfo {
    return info(Native.boot());
  }

  next(): PartitionInfo {
    const next = Native.next();
    if (!next) throw new Error("no OTA app partition to update into (partition table without ota_0/ota_1)");
    return info(next);
  }

  lastInvalid(): PartitionInfo | undefined {
    const p = Native.lastInvalid();
    return p ? info(p) : undefined;
  }

  open(image: { readonly size: number }): PartitionImageWriter {
    const partition = FlashStorage.open({ path: "nextota", mode: "r+" });
    let update: Updater;
    try {
      // Sequential ("a") mode: ESP-IDF erases the flash as the image grows, so begin is quick.
      update = Updates.open({ partition, byteLength: image.size });
    } catch (error) {
      partition.close();
      throw error;
    }
    let open = true;
    const close = () => {
      if (!open) return;
      open = false;
      // After complete() this does not abort (the SDK clears its handle); before, it is esp_ota_abort.
      try {
        update.close();
      } catch {
        // already closed
      }
      try {
        partition.close();
      } catch {
        // already closed
      }
    };
    return {
      write: (chunk) => update.write(chunk),
      complete: () => {
        try {
          update.complete();
        } finally {
          close();
        }
      },
      abort: close,
    };
  }

  selectRunning(): void {
    Native.selectRunning();
  }

  markValid(): void {
    Native.markValid();
  }

  markInvalidAndReboot(): void {
    Native.markInvalidAndReboot();
  }
}

/** The device's partitions, or undefined (logged) when this build cannot roll back. */
export function openOtaPartitions(o: OtaPartitionsOpenOptions): OtaPartitions | undefined {
  if (!Native.rollbackEnabled()) {
    o.logger.log("error", "ota", "built without CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE: over-the-air updates disabled");
    return undefined;
  }
  const partitions = new EspOtaPartitions();
  try {
    const running = partitions.running();
    const next = partitions.next();
    o.logger.log("info", "ota", "partitions", { running: running.label, state: running.state, next: next.label, size: next.size });
  } catch (error) {
    o.logger.log("error", "ota", "no usable OTA partitions: over-the-air updates disabled", { error: error instanceof Error ? error.message : String(error) });
    return undefined;
  }
  return partitions;
}

function info(p: Native.NativePartition): PartitionInfo {
  return { label: p.label, size: p.size, state: p.state };
}
