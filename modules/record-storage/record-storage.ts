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
 * src/main.ts opens the outbox's folder with `FileRecordStorage.open(config.file.root + "outbox/")` (`/tmp/outbox/`
 * on lin, `/mod/outbox/` on esp32). On esp32 mcconfig carves a 64 KB SPIFFS `storage` partition out of the factory
 * app partition when this module is included (the default partition table has none).
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

interface DirectoryClass {
  create(path: string): void;
}

const File = fileModule.File as FileClass;
const Iterator = fileModule.Iterator as IteratorClass;
// Not in tsconfig.moddable.json's declaration of "file" (modules/typings/file-gap.d.ts); the SDK's file.js has it.
const Directory = (fileModule as unknown as { Directory?: DirectoryClass }).Directory;

export class FileRecordStorage implements RecordStorage {
  /** `root` ends with "/" (mc/config's `file.root`). */
  constructor(private readonly root: string) {}

  /**
   * A storage in the folder `directory` (ending with "/"), created when missing, and checked by listing it once:
   * throws when the folder can neither be created nor listed. A file system without directories (SPIFFS: mkdir
   * fails) keeps the prefix as part of the file names, which works as long as the folder can be listed.
   */
  static open(directory: string): FileRecordStorage {
    if (!directory.endsWith("/")) throw new RangeError(`record storage folder ${JSON.stringify(directory)} must end with "/"`);
    let created: unknown;
    try {
      Directory?.create(directory.slice(0, -1));
    } catch (error) {
      created = error; // e.g. SPIFFS (no directories): the list below decides
    }
    const storage = new FileRecordStorage(directory);
    try {
      storage.list();
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      const mkdir = created instanceof Error ? `; create: ${created.message}` : "";
      throw new Error(`record storage folder ${directory} not usable: ${reason}${mkdir}`);
    }
    return storage;
  }

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
