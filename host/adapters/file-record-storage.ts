import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, statSync, writeSync } from "node:fs";
import { join } from "node:path";
import { checkSegmentName, type RecordStorage } from "../../src/ports/record-storage";
import { syncDirectory } from "./file-store";

/**
 * The record-storage port over files: one file per segment in a directory (created when missing).
 * `append` writes at the end and fsyncs the file (and, when it created the file, the directory) before
 * it returns, so an event the outbox reported as stored survives a crash or power loss.
 */
export class FileRecordStorage implements RecordStorage {
  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  list(): string[] {
    return readdirSync(this.dir).filter((name) => /^[a-z0-9._-]{1,15}$/.test(name) && !name.endsWith(".tmp"));
  }

  read(name: string): Uint8Array {
    checkSegmentName(name);
    try {
      return new Uint8Array(readFileSync(join(this.dir, name)));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return new Uint8Array(0);
      throw error;
    }
  }

  size(name: string): number {
    checkSegmentName(name);
    try {
      return statSync(join(this.dir, name)).size;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return 0;
      throw error;
    }
  }

  append(name: string, bytes: Uint8Array): void {
    checkSegmentName(name);
    const path = join(this.dir, name);
    let created = false;
    let fd: number;
    try {
      fd = openSync(path, "ax", 0o600);
      created = true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      fd = openSync(path, "a");
    }
    try {
      let done = 0;
      while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (created) syncDirectory(this.dir);
  }

  erase(name: string): void {
    checkSegmentName(name);
    rmSync(join(this.dir, name), { force: true });
    syncDirectory(this.dir);
  }
}
