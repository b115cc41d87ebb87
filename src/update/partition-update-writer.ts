import type { BootState, ImageInfo, RollbackRecord, SlotInfo, UpdateSession, UpdateWriter } from "../ports/update-writer";
import type { OtaPartitions, PartitionImageWriter } from "../ports/ota-partitions";
import type { KeyValueStore } from "../ports/storage";
import { errorMessage } from "../core/listeners";
import { toJson } from "../core/json";

export const OTA_RECORD_KEY = "ota.record";

/** Why the old image runs again when the bootloader (not this code) rolled the new one back. */
export const BOOTLOADER_ROLLBACK_REASON = "not-confirmed: restarted before it reached the hub; the bootloader went back to the previous image";

/**
 * What the partitions themselves do not say, kept in KeyValueStore (NVS on the device): the image an update
 * selected (to report its version and hash after a rollback), the version it replaced, how often it has booted,
 * and why it was given up. `phase` tells a selected image from one whose completion may not have happened:
 * only a "selected" image that the bootloader then marked invalid counts as rolled back.
 */
interface OtaRecord {
  readonly v: 1;
  readonly target?: { readonly slot: string; readonly version: string; readonly sha256: string; readonly previous: string; readonly phase: "selecting" | "selected" };
  readonly boots?: number;
  readonly reason?: string;
  readonly rollback?: RollbackRecord;
}

export interface PartitionUpdateWriterOptions {
  readonly partitions: OtaPartitions;
  readonly store: KeyValueStore;
  /** The version built into the running image (the app description's version is not reliable on Moddable builds). */
  readonly runningVersion: string;
  /** Problems with the record (never fatal: the partitions' own states still protect the device). */
  readonly onProblem?: (message: string) => void;
  readonly key?: string;
}

/**
 * UpdateWriter over A/B app partitions with the ESP-IDF app-rollback bootloader (OtaPartitions). Construct it
 * once per boot, early: it counts the boots of a pending image and turns "the bootloader went back" into a
 * rollback record for OtaManager.
 *
 * Safety comes from the partitions, not from this record: nothing is selected before `complete()` (esp_ota_end
 * validated the image), and an image that restarts before `markValid()` is aborted by the bootloader even if
 * this code never runs again. Losing the record only loses the report (version, reason) of a rollback.
 */
export class PartitionUpdateWriter implements UpdateWriter {
  private readonly p: OtaPartitions;
  private readonly key: string;
  private record: OtaRecord;
  private session: PartitionSession | undefined;

  constructor(private readonly o: PartitionUpdateWriterOptions) {
    this.p = o.partitions;
    this.key = o.key ?? OTA_RECORD_KEY;
    this.record = this.powerOn(this.load());
  }

  /** The partition's own record of its version (the simulator), else the version built into this image. */
  get runningVersion(): string {
    return this.p.running().version ?? this.o.runningVersion;
  }

  slots(): SlotInfo {
    const next = this.p.next();
    return { runningVersion: this.runningVersion, runningSlot: this.p.running().label, nextSlot: next.label, nextSlotSize: next.size };
  }

  begin(image: ImageInfo): UpdateSession {
    if (this.session?.open) throw new Error("an update session is already open");
    const next = this.p.next();
    if (!Number.isInteger(image.size) || image.size <= 0 || image.size > next.size) {
      throw new RangeError(`an image of ${image.size} bytes does not fit partition ${next.label} (${next.size} bytes)`);
    }
    const running = this.p.running();
    if (this.p.boot().label !== running.label) {
      // A completed update not booted yet: select the running image again before its partition is erased.
      this.p.selectRunning();
      if (this.record.target) this.save({ v: 1 });
    }
    const session = new PartitionSession(this.p.open(image), image, () => this.selecting(next.label, image), (ok) => this.selected(ok));
    this.session = session;
    return session;
  }

  bootState(): BootState {
    const r = this.record;
    const pending = this.p.running().state === "pendingVerify";
    return {
      pendingVerification: pending,
      pendingBootCount: pending ? Math.max(1, r.boots ?? 1) : 0,
      ...(pending && r.target?.previous ? { previousVersion: r.target.previous } : {}),
      ...(r.rollback ? { rollback: r.rollback } : {}),
    };
  }

  markValid(): void {
    this.p.markValid();
    this.save({ v: 1 });
  }

  markInvalidAndRollback(reason: string): void {
    // The reason first: the old image reports it after the restart.
    this.save({ ...this.record, reason });
    this.p.markInvalidAndReboot();
  }

  clearRollback(): void {
    if (this.record.rollback) this.save({ v: 1 });
  }

  // ---- the record across boots ----

  /** Reconciles the record with what the partitions say after this boot. */
  private powerOn(record: OtaRecord): OtaRecord {
    const running = this.p.running();
    const target = record.target;
    let next: OtaRecord = record;
    if (running.state === "pendingVerify") {
      next =
        target?.slot === running.label
          ? { v: 1, target: { ...target, phase: "selected" }, boots: (record.boots ?? 0) + 1 }
          : // Selected but the record was lost (e.g. power cut right after selection): pending all the same.
            { v: 1, target: { slot: running.label, version: this.runningVersion, sha256: "", previous: "", phase: "selected" }, boots: 1 };
    } else if (target && target.slot === running.label) {
      next = { v: 1 }; // confirmed (or no rollback support): nothing left to track
    } else if (target) {
      const invalid = this.p.lastInvalid();
      if (target.phase === "selected" && invalid?.label === target.slot) {
        next = { v: 1, rollback: { version: target.version, reason: record.reason ?? BOOTLOADER_ROLLBACK_REASON, ...(target.sha256 ? { sha256: target.sha256 } : {}) } };
      } else if (this.p.boot().label === target.slot) {
        next = record; // completed, waiting for the restart
      } else {
        next = { v: 1 }; // never completed: nothing was selected
      }
    }
    if (next !== record) this.save(next);
    return next;
  }

  private selecting(slot: string, image: ImageInfo): void {
    this.save({ v: 1, target: { slot, version: image.version, sha256: image.sha256, previous: this.runningVersion, phase: "selecting" } });
  }

  private selected(ok: boolean): void {
    const t = this.record.target;
    if (!ok) this.save({ v: 1 });
    else if (t) this.save({ v: 1, target: { ...t, phase: "selected" } });
  }

  private load(): OtaRecord {
    let raw: string | undefined;
    try {
      raw = this.o.store.get(this.key);
    } catch (error) {
      this.problem(`update record unreadable: ${errorMessage(error)}`);
      return { v: 1 };
    }
    if (raw === undefined) return { v: 1 };
    try {
      return parseRecord(JSON.parse(raw) as unknown);
    } catch (error) {
      this.problem(`update record unusable (${errorMessage(error)}); ignored`);
      return { v: 1 };
    }
  }

  private save(record: OtaRecord): void {
    this.record = record;
    try {
      if (!record.target && !record.rollback && record.reason === undefined) this.o.store.delete(this.key);
      else this.o.store.set(this.key, toJson(record));
    } catch (error) {
      this.problem(`update record not stored: ${errorMessage(error)}`);
    }
  }

  private problem(message: string): void {
    try {
      this.o.onProblem?.(message);
    } catch {
      // reporting never breaks an update
    }
  }
}

class PartitionSession implements UpdateSession {
  written = 0;
  open = true;

  constructor(
    private readonly w: PartitionImageWriter,
    private readonly image: ImageInfo,
    private readonly beforeComplete: () => void,
    private readonly afterComplete: (ok: boolean) => void,
  ) {}

  write(chunk: Uint8Array): void {
    if (!this.open) throw new Error("the update session is closed");
    if (this.written + chunk.byteLength > this.image.size) throw new RangeError(`more than the announced ${this.image.size} bytes`);
    this.w.write(chunk);
    this.written += chunk.byteLength;
  }

  complete(): void {
    if (!this.open) throw new Error("the update session is closed");
    if (this.written !== this.image.size) throw new Error(`image incomplete: ${this.written} of ${this.image.size} bytes`);
    this.open = false;
    this.beforeComplete();
    try {
      this.w.complete();
    } catch (error) {
      this.w.abort();
      this.afterComplete(false);
      throw error;
    }
    this.afterComplete(true);
  }

  cancel(): void {
    if (!this.open) return;
    this.open = false;
    try {
      this.w.abort();
    } catch {
      // abort never throws by contract; a broken adapter must not break cancel either
    }
  }
}

function parseRecord(value: unknown): OtaRecord {
  if (typeof value !== "object" || value === null) throw new Error("not an object");
  const r = value as Record<string, unknown>;
  if (r.v !== 1) throw new Error(`unknown version ${String(r.v)}`);
  const out: { -readonly [K in keyof OtaRecord]: OtaRecord[K] } = { v: 1 };
  const t = r.target as Record<string, unknown> | undefined;
  if (t !== undefined) {
    if (typeof t !== "object" || t === null) throw new Error("bad target");
    const { slot, version, sha256, previous, phase } = t;
    if (typeof slot !== "string" || typeof version !== "string" || typeof sha256 !== "string" || typeof previous !== "string" || (phase !== "selecting" && phase !== "selected")) {
      throw new Error("bad target");
    }
    out.target = { slot, version, sha256, previous, phase };
  }
  if (r.boots !== undefined) {
    if (typeof r.boots !== "number" || !Number.isInteger(r.boots) || r.boots < 0) throw new Error("bad boot count");
    out.boots = Math.min(r.boots, 1_000_000);
  }
  if (r.reason !== undefined) {
    if (typeof r.reason !== "string") throw new Error("bad reason");
    out.reason = r.reason;
  }
  const rb = r.rollback as Record<string, unknown> | undefined;
  if (rb !== undefined) {
    if (typeof rb !== "object" || rb === null || typeof rb.version !== "string" || typeof rb.reason !== "string" || (rb.sha256 !== undefined && typeof rb.sha256 !== "string")) {
      throw new Error("bad rollback");
    }
    out.rollback = { version: rb.version, reason: rb.reason, ...(typeof rb.sha256 === "string" ? { sha256: rb.sha256 } : {}) };
  }
  return out;
}
