import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, statSync, writeSync, ftruncateSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "./file-store";
import type { BootState, ImageInfo, RollbackRecord, SlotInfo, UpdateSession, UpdateWriter } from "../../src/ports/update-writer";

export type SlotName = "a" | "b";

/**
 * The boot record (`boot.json`), the host's otadata: written whole to a temporary file, fsynced and renamed over the
 * old one (then the directory fsynced), so a crash leaves either the old or the new record, never a mix.
 */
export interface BootRecord {
  readonly v: 1;
  /** The slot the "bootloader" starts next. */
  readonly boot: SlotName;
  /** What each slot holds; null while empty or being written. */
  readonly slots: Readonly<Record<SlotName, ImageInfo | null>>;
  /** The selected image has not been confirmed yet; bootCount counts its boots. */
  readonly pending: { readonly slot: SlotName; readonly previous: SlotName; readonly bootCount: number } | null;
  readonly rollback: RollbackRecord | null;
}

export interface FileUpdateWriterOptions {
  /** Size of each slot (an image must fit). */
  readonly slotSize: number;
  /** The image in slot a when the directory is new (the "factory" firmware). */
  readonly factoryVersion: string;
  /** The device restarting (markInvalidAndRollback); a host run rebuilds the device from the directory. */
  readonly restart?: () => void;
}

const other = (slot: SlotName): SlotName => (slot === "a" ? "b" : "a");

/**
 * A/B firmware slots as two files plus a boot record, so the whole update flow, restart included, runs on the host.
 * `FileUpdateWriter.powerOn(dir)` is the bootloader: it picks the selected slot and counts the boots of a pending
 * image. The running slot is fixed for the life of the instance (a "boot"); a new instance is the next boot.
 */
export class FileUpdateWriter implements UpdateWriter {
  readonly running: SlotName;
  private session: { close(): void } | undefined;

  private constructor(
    readonly dir: string,
    private readonly options: FileUpdateWriterOptions,
  ) {
    this.running = this.record().boot;
  }

  /** Boots from the directory (creating a factory layout when it is new). */
  static powerOn(dir: string, options: FileUpdateWriterOptions): FileUpdateWriter {
    mkdirSync(dir, { recursive: true });
    const file = join(dir, "boot.json");
    if (!existsSync(file)) {
      writeRecord(dir, { v: 1, boot: "a", slots: { a: { size: 0, version: options.factoryVersion, sha256: "" }, b: null }, pending: null, rollback: null });
    }
    const record = readRecord(dir);
    if (record.pending && record.pending.slot === record.boot) {
      writeRecord(dir, { ...record, pending: { ...record.pending, bootCount: record.pending.bootCount + 1 } });
    }
    return new FileUpdateWriter(dir, options);
  }

  /** The record as on disk now. */
  record(): BootRecord {
    return readRecord(this.dir);
  }

  slotFile(slot: SlotName): string {
    return join(this.dir, `slot-${slot}.bin`);
  }

  slots(): SlotInfo {
    const record = this.record();
    return { runningVersion: record.slots[this.running]?.version ?? "0.0.0", runningSlot: this.running, nextSlot: other(this.running), nextSlotSize: this.options.slotSize };
  }

  begin(image: ImageInfo): UpdateSession {
    if (this.session) throw new Error("an update session is already open");
    if (!Number.isInteger(image.size) || image.size <= 0 || image.size > this.options.slotSize) {
      throw new RangeError(`an image of ${image.size} bytes does not fit the ${this.options.slotSize}-byte slot`);
    }
    const target = other(this.running);
    // The record must never describe a slot being rewritten, nor select it: first point everything at the running image.
    const record = this.record();
    writeRecord(this.dir, { ...record, boot: this.running, slots: { ...record.slots, [target]: null } as BootRecord["slots"], pending: null });
    const fd = openSync(this.slotFile(target), "w");
    let written = 0;
    let open = true;
    const close = (): void => {
      if (!open) return;
      open = false;
      this.session = undefined;
      closeSync(fd);
    };
    this.session = { close };
    return {
      get written() {
        return written;
      },
      write: (chunk) => {
        if (!open) throw new Error("the update session is closed");
        if (written + chunk.length > image.size) throw new RangeError(`more than the announced ${image.size} bytes`);
        let offset = 0;
        while (offset < chunk.length) offset += writeSync(fd, chunk, offset, chunk.length - offset, written + offset);
        written += chunk.length;
      },
      complete: () => {
        if (!open) throw new Error("the update session is closed");
        if (written !== image.size) throw new Error(`image incomplete: ${written} of ${image.size} bytes`);
        fsyncSync(fd);
        close();
        if (statSync(this.slotFile(target)).size !== image.size) throw new Error("slot file size differs from the image");
        const now = this.record();
        writeRecord(this.dir, {
          ...now,
          boot: target,
          slots: { ...now.slots, [target]: { size: image.size, version: image.version, sha256: image.sha256 } } as BootRecord["slots"],
          pending: { slot: target, previous: this.running, bootCount: 0 },
          rollback: null,
        });
      },
      cancel: () => {
        if (!open) return;
        try {
          ftruncateSync(fd, 0);
        } catch {
          // the record already says the slot is empty
        }
        close();
      },
    };
  }

  bootState(): BootState {
    const record = this.record();
    const pending = record.pending && record.pending.slot === this.running ? record.pending : null;
    return {
      pendingVerification: pending !== null,
      pendingBootCount: pending?.bootCount ?? 0,
      ...(pending ? { previousVersion: record.slots[pending.previous]?.version ?? "unknown" } : {}),
      ...(record.rollback ? { rollback: record.rollback } : {}),
    };
  }

  markValid(): void {
    const record = this.record();
    if (record.pending?.slot === this.running) writeRecord(this.dir, { ...record, pending: null });
  }

  markInvalidAndRollback(reason: string): void {
    const record = this.record();
    const pending = record.pending;
    if (!pending || pending.slot !== this.running) throw new Error("the running image is not pending verification");
    const failed = record.slots[this.running];
    writeRecord(this.dir, {
      ...record,
      boot: pending.previous,
      pending: null,
      rollback: { version: failed?.version ?? "unknown", reason, ...(failed?.sha256 ? { sha256: failed.sha256 } : {}) },
    });
    this.options.restart?.();
  }

  clearRollback(): void {
    const record = this.record();
    if (record.rollback) writeRecord(this.dir, { ...record, rollback: null });
  }
}

function readRecord(dir: string): BootRecord {
  const text = readFileSync(join(dir, "boot.json"), "utf8");
  const record = JSON.parse(text) as BootRecord;
  if (record.v !== 1 || (record.boot !== "a" && record.boot !== "b")) throw new Error(`unusable boot record in ${dir}`);
  return record;
}

/** Atomic replace (the host's otadata). */
function writeRecord(dir: string, record: BootRecord): void {
  const file = join(dir, "boot.json");
  writeFileAtomic(file, Buffer.from(`${JSON.stringify(record, null, 2)}\n`), `${file}.tmp`);
}
