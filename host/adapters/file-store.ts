import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { checkStorageLimits, type KeyValueStore } from "../../src/ports/storage";

export interface FileStoreOptions {
  /** Called once when the file exists but cannot be used; the store then starts empty. */
  readonly onCorrupt?: (reason: string) => void;
}

/**
 * KeyValueStore in one JSON file (`{"key": "value", ...}`), the host's stand-in for NVS. Every change
 * rewrites the file atomically (temp file, fsync, rename), so a crash leaves the old or the new
 * content, never a torn one. The device's key and value limits are enforced here too.
 */
export class FileStore implements KeyValueStore {
  private readonly map = new Map<string, string>();

  constructor(
    readonly path: string,
    options: FileStoreOptions = {},
  ) {
    const reason = this.load();
    if (reason) options.onCorrupt?.(reason);
  }

  get(key: string): string | undefined {
    return this.map.get(key);
  }

  set(key: string, value: string): void {
    checkStorageLimits(key, value);
    const previous = this.map.get(key);
    if (previous === value) return;
    this.map.set(key, value);
    try {
      this.persist();
    } catch (error) {
      if (previous === undefined) this.map.delete(key);
      else this.map.set(key, previous);
      throw error;
    }
  }

  delete(key: string): void {
    const previous = this.map.get(key);
    if (previous === undefined) return;
    this.map.delete(key);
    try {
      this.persist();
    } catch (error) {
      this.map.set(key, previous);
      throw error;
    }
  }

  /** Reads the file; returns why it was unusable (undefined: fine or absent). Never throws. */
  private load(): string | undefined {
    let text: string;
    try {
      text = readFileSync(this.path, "utf8");
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      return code === "ENOENT" ? undefined : `cannot read ${this.path}: ${(error as Error).message}`;
    }
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (error) {
      return `${this.path} is not JSON: ${(error as Error).message}`;
    }
    if (typeof data !== "object" || data === null || Array.isArray(data)) return `${this.path} is not a JSON object`;
    const entries = Object.entries(data as Record<string, unknown>);
    for (const [key, value] of entries) {
      if (typeof value !== "string") return `${this.path}: value of ${JSON.stringify(key)} is not a string`;
      try {
        checkStorageLimits(key, value);
      } catch (error) {
        return `${this.path}: ${(error as Error).message}`;
      }
    }
    for (const [key, value] of entries) this.map.set(key, value as string);
    return undefined;
  }

  private persist(): void {
    writeFileAtomic(this.path, Buffer.from(JSON.stringify(Object.fromEntries(this.map))), `${this.path}.${process.pid}.tmp`, 0o600);
  }
}

/**
 * Replaces `path` as a whole: written to `temp`, fsynced, renamed over it, the directory fsynced. A crash leaves
 * the old or the new content, never a mix (a stale `temp` at most, replaced by the next write).
 */
export function writeFileAtomic(path: string, data: Buffer, temp: string, mode = 0o644): void {
  try {
    const fd = openSync(temp, "w", mode);
    try {
      let offset = 0;
      while (offset < data.length) offset += writeSync(fd, data, offset, data.length - offset);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
  syncDirectory(dirname(path));
}

/** Makes a created, renamed or removed directory entry durable (best effort: not every platform can fsync a directory). */
export function syncDirectory(dir: string): void {
  try {
    const fd = openSync(dir, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // ignored
  }
}
