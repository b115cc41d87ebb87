import type { KeyValueStore } from "../ports/storage";
import { errorMessage } from "../core/listeners";
import { isSecurityVersion, isVersion } from "./update-manifest";
import { toJson } from "../core/json";

/** The lowest security version this device still installs: a decimal string ("0".."2147483647"). */
export const SECURITY_FLOOR_KEY = "fw.secfloor";
/** The security version of the image an update selected, until that image is confirmed: `{"v":1,"version":…,"sv":…}`. */
export const SECURITY_PENDING_KEY = "fw.secpending";
/** Both keys: a factory reset keeps them (src/device/factory-reset.ts refuses to erase them). */
export const SECURITY_KEYS: readonly string[] = Object.freeze([SECURITY_FLOOR_KEY, SECURITY_PENDING_KEY]);

export interface PendingSecurity {
  /** The version of the selected image. */
  readonly version: string;
  /** Its signed security version. */
  readonly securityVersion: number;
}

/**
 * The security-version floor in KeyValueStore (NVS on the device, domain "kisme"). An update whose signed
 * security version is below it is refused (checkManifest). The floor only rises: when an update is selected its
 * security version is recorded as pending (`setPending`), and once that image has been confirmed — it reached the
 * hub and reported its version — the floor is raised to it (`confirm`). A rolled-back image never raises it. It
 * survives restarts (the same store) and a factory reset (not one of FACTORY_RESET_KEYS).
 *
 * Fails closed: a floor record that is there but unusable (`floor()` returns undefined) makes every update be
 * refused, and it is never overwritten (a rewrite could lower it). A missing record is floor 0 — a device as it
 * left the factory, unless provisioning wrote one (`npm run provision -- --security-floor N`).
 */
export class SecurityFloor {
  constructor(
    private readonly store: KeyValueStore,
    private readonly onProblem?: (message: string) => void,
  ) {}

  /** The floor; 0 when none is stored; undefined when the record is unreadable or malformed (refuse everything). */
  floor(): number | undefined {
    let raw: string | undefined;
    try {
      raw = this.store.get(SECURITY_FLOOR_KEY);
    } catch (error) {
      this.problem(`security floor unreadable: ${errorMessage(error)}`);
      return undefined;
    }
    if (raw === undefined) return 0;
    const value = /^(0|[1-9]\d{0,9})$/.test(raw) ? Number(raw) : NaN;
    if (!isSecurityVersion(value)) {
      this.problem(`security floor record ${JSON.stringify(raw.slice(0, 20))} is malformed`);
      return undefined;
    }
    return value;
  }

  /**
   * Raises the floor to `to` when that is higher; never lowers it. Returns the floor afterwards (undefined when
   * it is unusable: then nothing is written). Throws when the store refuses the write.
   */
  raise(to: number): number | undefined {
    if (!isSecurityVersion(to)) throw new RangeError(`not a security version: ${String(to)}`);
    const floor = this.floor();
    if (floor === undefined) return undefined;
    if (to <= floor) return floor;
    this.store.set(SECURITY_FLOOR_KEY, String(to));
    return to;
  }

  /** Records the security version of the image an update is about to select (throws when the store refuses). */
  setPending(pending: PendingSecurity): void {
    if (!isVersion(pending.version) || !isSecurityVersion(pending.securityVersion)) throw new RangeError("not a version and security version");
    this.store.set(SECURITY_PENDING_KEY, toJson({ v: 1, version: pending.version, sv: pending.securityVersion }));
  }

  /** The pending record, if any (a malformed one reads as none). */
  pending(): PendingSecurity | undefined {
    let raw: string | undefined;
    try {
      raw = this.store.get(SECURITY_PENDING_KEY);
    } catch (error) {
      this.problem(`pending security version unreadable: ${errorMessage(error)}`);
      return undefined;
    }
    if (raw === undefined) return undefined;
    try {
      const r = JSON.parse(raw) as { v?: unknown; version?: unknown; sv?: unknown };
      if (r.v === 1 && typeof r.version === "string" && isVersion(r.version) && isSecurityVersion(r.sv)) return { version: r.version, securityVersion: r.sv };
    } catch {
      // malformed: below
    }
    this.problem("pending security version record is malformed; ignored");
    return undefined;
  }

  /** Forgets the pending record (an image that was never confirmed). Never throws. */
  clearPending(): void {
    try {
      if (this.store.get(SECURITY_PENDING_KEY) !== undefined) this.store.delete(SECURITY_PENDING_KEY);
    } catch (error) {
      this.problem(`pending security version not cleared: ${errorMessage(error)}`);
    }
  }

  /**
   * The running image `version` has been confirmed: when the pending record is for it, the floor rises to its
   * security version and the record is removed. Returns the floor afterwards (undefined when unusable). Never throws.
   */
  confirm(version: string): number | undefined {
    const pending = this.pending();
    if (pending && pending.version === version) {
      try {
        const floor = this.raise(pending.securityVersion);
        if (floor === undefined) return undefined;
      } catch (error) {
        this.problem(`security floor not raised to ${pending.securityVersion}: ${errorMessage(error)}`);
        return this.floor();
      }
    }
    this.clearPending(); // also a malformed record
    return this.floor();
  }

  private problem(message: string): void {
    try {
      this.onProblem?.(message);
    } catch {
      // a reporting hook must not break an update
    }
  }
}
