/**
 * OtaPartitions in the simulator (lin/mac/win), which has no flash partitions: SimulatedPartitions (src/update),
 * which follows ESP-IDF's app-rollback bootloader, with the images in files under `<config.file.root>ota/`
 * (`/tmp/ota/` on lin) and otadata in preferences. The running code is of course always the same binary; the
 * partition's recorded version is what the firmware reports after a simulated update. Restart the simulator to
 * "boot" (its restart is a no-op).
 */
import * as fileModule from "file";
import { SimulatedPartitions, type PartitionMedia } from "update/simulated-partitions";
import type { OtaPartitions, OtaPartitionsOpenOptions } from "ports/ota-partitions";

interface FileHandle {
  readonly length: number;
  position: number;
  write(value: ArrayBuffer): void;
  close(): void;
}
interface FileClass {
  new (path: string, write?: boolean): FileHandle;
  delete(path: string): boolean;
}
interface DirectoryClass {
  create(path: string): void;
}
const File = fileModule.File as FileClass;
const Directory = (fileModule as unknown as { Directory?: DirectoryClass }).Directory;

/** As the ESP32 partition table in sdkconfig/partitions.csv (ota_0/ota_1). */
export const SIMULATED_PARTITION_SIZE = 0x1c0000;

class FileMedia implements PartitionMedia {
  constructor(private readonly folder: string) {}

  erase(label: string): void {
    const path = this.path(label);
    File.delete(path);
    new File(path, true).close();
  }

  append(label: string, bytes: Uint8Array): void {
    const file = new File(this.path(label), true);
    try {
      file.position = file.length;
      file.write(bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? (bytes.buffer as ArrayBuffer) : (bytes.slice().buffer as ArrayBuffer));
    } finally {
      file.close();
    }
  }

  private path(label: string): string {
    return `${this.folder}${label}.bin`;
  }
}

export function openOtaPartitions(o: OtaPartitionsOpenOptions): OtaPartitions | undefined {
  const root = o.fileRoot;
  if (!root) {
    o.logger.log("error", "ota", "no config.file.root for the simulated partitions: over-the-air updates disabled");
    return undefined;
  }
  const folder = `${root}${root.endsWith("/") ? "" : "/"}ota/`;
  try {
    Directory?.create(folder);
  } catch {
    // exists already
  }
  const partitions = new SimulatedPartitions({ store: o.store, media: new FileMedia(folder), size: SIMULATED_PARTITION_SIZE, factoryVersion: o.builtVersion, restart: o.restart });
  const running = partitions.running();
  o.logger.log("info", "ota", "simulated partitions", { folder, running: running.label, state: running.state, version: running.version });
  return partitions;
}
