import type { RecordStorage } from "../../src/ports/record-storage";
import { checkSegmentName } from "../../src/ports/record-storage";

/** Thrown by MemoryRecordStorage when a simulated power loss happens, and by every call until `reboot()`. */
export class PowerLossError extends Error {
  override readonly name = "PowerLossError";
  constructor(message = "simulated power loss") {
    super(message);
  }
}

/**
 * RecordStorage in memory (portable: runs in XS too) that can simulate a power loss in the middle of
 * a write: `crashAfter(n)` lets the next n bytes of appends reach "flash", then cuts the write (the rest
 * of that append is lost, or replaced by `fill` bytes, as half-programmed flash may read), throws
 * PowerLossError and refuses everything until `reboot()`. What was written survives the reboot.
 */
export class MemoryRecordStorage implements RecordStorage {
  private readonly segments = new Map<string, Uint8Array>();
  private budget: number | undefined;
  private fill: number | undefined;
  private dead = false;
  /** Calls made, for tests that check how much the log writes. */
  appends = 0;
  appendedBytes = 0;
  erases = 0;

  list(): string[] {
    this.alive();
    return Array.from(this.segments.keys());
  }

  read(name: string): Uint8Array {
    this.alive();
    return (this.segments.get(name) ?? new Uint8Array(0)).slice();
  }

  size(name: string): number {
    this.alive();
    return this.segments.get(name)?.length ?? 0;
  }

  append(name: string, bytes: Uint8Array): void {
    this.alive();
    checkSegmentName(name);
    let data = bytes;
    let crash = false;
    if (this.budget !== undefined && bytes.length > this.budget) {
      data = bytes.slice(0, this.budget);
      if (this.fill !== undefined) {
        const padded = new Uint8Array(bytes.length).fill(this.fill);
        padded.set(data);
        data = padded;
      }
      crash = true;
    } else if (this.budget !== undefined) {
      this.budget -= bytes.length;
    }
    const old = this.segments.get(name) ?? new Uint8Array(0);
    const next = new Uint8Array(old.length + data.length);
    next.set(old);
    next.set(data, old.length);
    this.segments.set(name, next);
    this.appends++;
    this.appendedBytes += data.length;
    if (crash) {
      this.dead = true;
      this.budget = undefined;
      throw new PowerLossError();
    }
  }

  erase(name: string): void {
    this.alive();
    this.segments.delete(name);
    this.erases++;
  }

  /** The next `bytes` bytes of appends succeed; the append that would go beyond is cut there. */
  crashAfter(bytes: number, fill?: number): void {
    this.budget = bytes;
    this.fill = fill;
  }

  /** Power back: everything written so far is there, calls work again. */
  reboot(): void {
    this.dead = false;
    this.budget = undefined;
    this.fill = undefined;
  }

  // Direct access for tests (no power-loss checks).
  names(): string[] {
    return Array.from(this.segments.keys()).sort();
  }
  raw(name: string): Uint8Array {
    return this.segments.get(name) ?? new Uint8Array(0);
  }
  setRaw(name: string, bytes: Uint8Array): void {
    this.segments.set(name, bytes);
  }
  totalBytes(): number {
    let n = 0;
    for (const b of this.segments.values()) n += b.length;
    return n;
  }

  private alive(): void {
    if (this.dead) throw new PowerLossError("storage unavailable after simulated power loss (call reboot())");
  }
}
