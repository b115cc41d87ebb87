/**
 * RecordStorage port (src/ports/record-storage.ts) over the SDK's `file` module: one file per segment, named
 * `<root><segment>` (e.g. `/mod/ob12` on esp32 with the default root). SPIFFS is flat, so there are no
 * directories; the outbox's segment names (`ob<number>`) keep its files apart from others in the root.
 *
 * Appends open the file for write (created when missing), seek to its end, write and close: `close` is where
 * SPIFFS/LittleFS commit the data, so an event is on flash when `append` returns. The `file` module has no
 * separate fsync. A power loss during the write leaves a prefix (or, on SPIFFS, erased 0xFF bytes), which the
 * outbox log discards as a torn tail when it reopens.
 *
 * Not wired yet: include ./modules/record-storage/manifest.json in the root manifest, then in src/main.ts
 *   outboxStore: new OutboxLog(new FileRecordStorage(config.file.root), { onEvent: ... })
 * (config.file.root from mc/config). On esp32 the partition table needs a data partition for the file system.
 */
import * as fileModule from "file";
import { checkSegmentName, type RecordStorage } from "ports/record-storage";

interface FileHandle {
  readonly length: number;
  position: number;
  read(type: typeof ArrayBuffer, bytes?: number): ArrayBuffer;
  write(value: ArrayBuffer): void;
  close(): void;
}
interface FileClass {
  new (path: string, write?: boolean): FileHandle;
  delete(path: string): boolean;
  exists(path: string): boolean;
}
interface IteratorClass {
  new (path: string): { next(): { name: string; length?: number } | undefined };
}

const File = fileModule.File as FileClass;
const Iterator = fileModule.Iterator as IteratorClass;

export class FileRecordStorage implements RecordStorage {
  /** `root` ends with "/" (mc/config's `file.root`). */
  constructor(private readonly root: string) {}

  list(): string[] {
    const names: string[] = [];
    const it = new Iterator(this.root);
    for (let item = it.next(); item; item = it.next()) {
      if (item.length !== undefined && /^[a-z0-9._-]{1,15}$/.test(item.name)) names.push(item.name);
    }
    return names;
  }

  read(name: string): Uint8Array {
    const path = this.path(name);
    if (!File.exists(path)) return new Uint8Array(0);
    const file = new File(path);
    try {
      return file.length === 0 ? new Uint8Array(0) : new Uint8Array(file.read(ArrayBuffer, file.length));
    } finally {
      file.close();
    }
  }

  size(name: string): number {
    const path = this.path(name);
    if (!File.exists(path)) return 0;
    const file = new File(path);
    try {
      return file.length;
    } finally {
      file.close();
    }
  }

  append(name: string, bytes: Uint8Array): void {
    const file = new File(this.path(name), true);
    try {
      file.position = file.length;
      const copy = new Uint8Array(bytes.length);
      copy.set(bytes);
      file.write(copy.buffer);
    } finally {
      file.close();
    }
  }

  erase(name: string): void {
    const path = this.path(name);
    if (File.exists(path)) File.delete(path);
  }

  private path(name: string): string {
    checkSegmentName(name);
    return this.root + name;
  }
}
