import type { KeyValueStore } from "../ports/storage";
import { errorMessage } from "../core/listeners";
import { toJson } from "../core/json";

export const BOOT_COUNT_KEY = "boot.count";

/**
 * Consecutive boots that have not (yet) reached the hub, in KeyValueStore as `{"v":1,"n":3}`. `begin()` runs
 * once at start and counts this boot; `reset()` runs once the hub has been reached. A crash loop before the hub
 * therefore shows as a growing count. Never throws: an unreadable record counts as 0, a failed write is
 * reported through `onProblem` (the count then only lives in memory for this boot).
 *
 * Flash writes: a boot that reaches the hub costs two (the count at start, which a crash before the hub cannot
 * undo, and its removal); that is the least that tells a boot that crashed from one that did not. A boot that
 * restarts on purpose after reaching the hub (the reboot command, an update) has already cleared the count, so
 * the boot after it starts from 1 like any boot after a good one. The count stops at `cap` (SafeMode: its
 * threshold + 1, where the decision is already made and stored): a device stuck in a boot loop does not write
 * the counter again on every boot.
 */
export class BootCounter {
  private n = 0;
  private begun = false;

  constructor(
    private readonly store: KeyValueStore,
    private readonly onProblem?: (message: string) => void,
    private readonly key = BOOT_COUNT_KEY,
    /** The highest count stored; at it, boots are not written any more (default: no cap). */
    private readonly cap = Number.MAX_SAFE_INTEGER,
  ) {
    if (!(Number.isInteger(cap) && cap >= 1)) throw new RangeError(`cap must be a whole number >= 1, got ${String(cap)}`);
  }

  /** Consecutive boots without the hub, this one included (0 before `begin()`, and after `reset()`). */
  get count(): number {
    return this.n;
  }

  /** Counts this boot; returns the new count. Idempotent within one boot. */
  begin(): number {
    if (this.begun) return this.n;
    this.begun = true;
    const stored = this.read();
    this.n = Math.min(stored + 1, this.cap);
    if (this.n !== stored) this.write(); // at the cap the stored count is already this boot's
    return this.n;
  }

  /** The hub has been reached: back to 0 (written only when it was not 0, sparing the flash). */
  reset(): void {
    if (this.n === 0 && this.begun) return;
    this.n = 0;
    try {
      this.store.delete(this.key);
    } catch (error) {
      this.problem(`boot counter not cleared: ${errorMessage(error)}`);
    }
  }

  private read(): number {
    let raw: string | undefined;
    try {
      raw = this.store.get(this.key);
    } catch (error) {
      this.problem(`boot counter unreadable: ${errorMessage(error)}`);
      return 0;
    }
    if (raw === undefined) return 0;
    try {
      const record = JSON.parse(raw) as { v?: unknown; n?: unknown };
      if (record.v !== 1 || typeof record.n !== "number" || !Number.isInteger(record.n) || record.n < 0) throw new Error("unknown record format");
      return Math.min(record.n, 1_000_000);
    } catch (error) {
      this.problem(`boot counter record unusable (${errorMessage(error)}); starting from 0`);
      return 0;
    }
  }

  private write(): void {
    try {
      this.store.set(this.key, toJson({ v: 1, n: this.n }));
    } catch (error) {
      this.problem(`boot counter not stored: ${errorMessage(error)}`);
    }
  }

  private problem(message: string): void {
    try {
      this.onProblem?.(message);
    } catch {
      // a reporting hook must not break the boot
    }
  }
}
