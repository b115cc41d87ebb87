import type { ImageState, OtaPartitions, PartitionImageWriter, PartitionInfo } from "../ports/ota-partitions";
import type { KeyValueStore } from "../ports/storage";
import { toJson } from "../core/json";

export const SIMULATED_OTADATA_KEY = "ota.sim";

/** Where the simulated partitions keep the image bytes (files in the Moddable simulator, memory in tests). */
export interface PartitionMedia {
  /** Empties the partition (esp_ota_begin erases). */
  erase(label: string): void;
  append(label: string, bytes: Uint8Array): void;
}

export interface SimulatedPartitionsOptions {
  readonly store: KeyValueStore;
  readonly media: PartitionMedia;
  /** Bytes per partition. */
  readonly size: number;
  /** The version in ota_0 when the store is empty (a freshly flashed device). */
  readonly factoryVersion: string;
  /** Restarts the (simulated) device; markInvalidAndReboot calls it. */
  readonly restart: () => void;
}

type Label = "ota_0" | "ota_1";

interface Otadata {
  readonly v: 1;
  boot: Label;
  lastInvalid?: Label;
  readonly parts: Record<Label, { state: ImageState; version?: string }>;
}

/**
 * Two app partitions and an otadata record that follow ESP-IDF's app-rollback bootloader, for the simulator
 * platforms (which have no partitions) and for tests: a hardware stand-in, as GPIO fakes are. Constructing it is
 * the power-on: a "new" image becomes "pendingVerify"; a "pendingVerify" image booted again becomes "aborted"
 * and the other partition boots.
 */
export class SimulatedPartitions implements OtaPartitions {
  private readonly data: Otadata;
  private readonly runningLabel: Label;
  private writing = false;

  constructor(private readonly o: SimulatedPartitionsOptions) {
    this.data = this.load();
    const boot = this.data.boot;
    const state = this.data.parts[boot].state;
    if (state === "new") {
      this.data.parts[boot].state = "pendingVerify";
    } else if (state === "pendingVerify" || state === "aborted" || state === "invalid") {
      if (state === "pendingVerify") this.data.parts[boot].state = "aborted";
      this.data.lastInvalid = boot;
      this.data.boot = other(boot);
    }
    this.runningLabel = this.data.boot;
    this.save();
  }

  running(): PartitionInfo {
    return this.info(this.runningLabel);
  }

  boot(): PartitionInfo {
    return this.info(this.data.boot);
  }

  next(): PartitionInfo {
    return this.info(other(this.runningLabel));
  }

  lastInvalid(): PartitionInfo | undefined {
    return this.data.lastInvalid ? this.info(this.data.lastInvalid) : undefined;
  }

  open(image: { readonly size: number; readonly version: string }): PartitionImageWriter {
    if (this.writing) throw new Error("begin failed: a write is in progress");
    // esp_ota_begin: ESP_ERR_OTA_ROLLBACK_INVALID_STATE while the running image is unconfirmed.
    if (this.data.parts[this.runningLabel].state === "pendingVerify") throw new Error("begin failed: the running image is not confirmed yet");
    const label = other(this.runningLabel);
    if (image.size > this.o.size) throw new RangeError("begin failed: the image does not fit");
    this.o.media.erase(label);
    // Like otadata, the partition's old state (and "last invalid") stays until a new image is selected.
    this.writing = true;
    let written = 0;
    let open = true;
    const close = () => {
      open = false;
      this.writing = false;
    };
    return {
      write: (chunk) => {
        if (!open) throw new Error("write failed: closed");
        if (written + chunk.byteLength > this.o.size) throw new Error("write failed: past the partition");
        this.o.media.append(label, chunk);
        written += chunk.byteLength;
      },
      complete: () => {
        if (!open) throw new Error("end failed: closed");
        close();
        if (written !== image.size) throw new Error(`end failed: image is ${written} bytes, not ${image.size}`);
        this.data.parts[label] = { state: "new", version: image.version };
        if (this.data.lastInvalid === label) delete this.data.lastInvalid;
        this.data.boot = label;
        this.save();
      },
      abort: () => {
        if (open) close();
      },
    };
  }

  selectRunning(): void {
    this.data.boot = this.runningLabel;
    this.save();
  }

  markValid(): void {
    this.data.parts[this.runningLabel].state = "valid";
    this.save();
  }

  markInvalidAndReboot(): void {
    this.data.parts[this.runningLabel].state = "invalid";
    this.data.lastInvalid = this.runningLabel;
    this.data.boot = other(this.runningLabel);
    this.save();
    this.o.restart();
  }

  private info(label: Label): PartitionInfo {
    const part = this.data.parts[label];
    return { label, size: this.o.size, state: part.state, ...(part.version !== undefined ? { version: part.version } : {}) };
  }

  private load(): Otadata {
    const fresh: Otadata = { v: 1, boot: "ota_0", parts: { ota_0: { state: "undefined", version: this.o.factoryVersion }, ota_1: { state: "undefined" } } };
    const raw = this.o.store.get(SIMULATED_OTADATA_KEY);
    if (raw === undefined) return fresh;
    try {
      const d = JSON.parse(raw) as Otadata;
      if (d.v !== 1 || !isLabel(d.boot) || !d.parts?.ota_0 || !d.parts?.ota_1) return fresh;
      return d;
    } catch {
      return fresh; // like erased otadata: the first partition boots
    }
  }

  private save(): void {
    this.o.store.set(SIMULATED_OTADATA_KEY, toJson(this.data));
  }
}

function other(label: Label): Label {
  return label === "ota_0" ? "ota_1" : "ota_0";
}

function isLabel(value: unknown): value is Label {
  return value === "ota_0" || value === "ota_1";
}
