import type { KeyValueStore } from "../ports/storage";
import { errorMessage } from "../core/listeners";
import { validateCredentials, type WifiCredentials } from "../wifi/wifi-credentials";
import { toJson } from "../core/json";

/*
 * The device's configuration as one versioned record under one key (NVS `preference` on the device):
 *
 *   {"v":2,"wifi":{"ssid":"...","passphrase":"..."}|null,"hub":{"deviceId":"...","hubHostName":"...","obtainedAt":ms?}|null,
 *    "settings":{"brightness":70,...}}
 *
 * Opening never throws. A record of an older version is migrated step by step (v1 -> v2 -> ...) and
 * written back once; a record that cannot be read (not JSON, wrong shape, a failing migration) or that
 * comes from a newer firmware falls back to the defaults, and is reported through `onProblem`. A
 * future-version record is left in storage untouched until the configuration is changed, so a
 * downgrade followed by an upgrade keeps it. A single bad section (e.g. Wi-Fi credentials that no
 * longer validate) falls back to its default alone.
 */

export const CONFIG_KEY = "config";
export const CONFIG_VERSION = 2;

/** Where bootstrap assigned this device. */
export interface HubAssignment {
  readonly deviceId: string;
  readonly hubHostName: string;
  /**
   * When the bootstrap service gave it (Unix ms, valid clock). Absent in records of older firmware: such an
   * assignment counts as of unknown age (used at once, refreshed in the background; see assignment-policy.ts).
   */
  readonly obtainedAt?: number;
}

export type ConfigSettingValue = number | boolean | string;

export interface DeviceConfig {
  readonly wifi: WifiCredentials | null;
  readonly hub: HubAssignment | null;
  readonly settings: Readonly<Record<string, ConfigSettingValue>>;
}

export type ConfigProblemKind = "corrupt" | "future-version" | "migration-failed" | "invalid-section" | "write-failed";

export interface ConfigProblem {
  readonly kind: ConfigProblemKind;
  readonly message: string;
}

/** A stored record of some version, as parsed JSON. */
export type RawConfig = Record<string, unknown> & { v: number };
/** Turns a record of version N into one of version N + 1 (throws when it cannot). */
export type Migration = (record: RawConfig) => RawConfig;

/**
 * Version 1 (the first layout, kept here as the example of a migration) was flat:
 *   {"v":1,"ssid":"...","psk":"...","hub":"host.azure-devices.net","device":"id","brightness":70,...}
 * with every remaining key a setting. Version 2 groups these into sections and renames psk to passphrase.
 */
export function migrateV1toV2(record: RawConfig): RawConfig {
  const { v: _v, ssid, psk, open, hub, device, ...rest } = record;
  void _v;
  let wifi: Record<string, unknown> | null = null;
  if (ssid !== undefined) {
    if (typeof ssid !== "string") throw new Error("v1 ssid is not a string");
    wifi = { ssid, ...(psk !== undefined ? { passphrase: psk } : {}), ...(open === true ? { allowOpen: true } : {}) };
  }
  let assignment: Record<string, unknown> | null = null;
  if (hub !== undefined || device !== undefined) assignment = { hubHostName: hub, deviceId: device };
  return { v: 2, wifi, hub: assignment, settings: rest };
}

/** Migration from version N to N + 1, keyed by N. */
export const MIGRATIONS: Readonly<Record<number, Migration>> = { 1: migrateV1toV2 };

export interface ConfigStoreOptions {
  readonly store: KeyValueStore;
  readonly defaults: DeviceConfig;
  /** Storage key (default "config"; at most 15 characters). */
  readonly key?: string;
  /** Called for each problem met (at open and on failed writes). Must not throw (a throw is ignored). */
  readonly onProblem?: (problem: ConfigProblem) => void;
  /** Overrides for tests: the current version and the migrations to reach it. */
  readonly version?: number;
  readonly migrations?: Readonly<Record<number, Migration>>;
  /**
   * Imports the records older firmware kept under their own keys ("wifi", "boot.assign", "settings") when no
   * configuration record exists yet, stores the result once and deletes those keys (default false).
   */
  readonly importLegacy?: boolean;
}

/** The keys older firmware kept its configuration under, each a record of its own. */
export const LEGACY_CONFIG_KEYS: readonly string[] = Object.freeze(["wifi", "boot.assign", "settings"]);

/** A configuration with no Wi-Fi, no hub assignment and no stored settings (the modules apply their own defaults). */
export const EMPTY_CONFIG: DeviceConfig = Object.freeze({ wifi: null, hub: null, settings: Object.freeze({}) });

// Made at run time, once: XS would preload a module-level RegExp into flash, where exec crashes (mcsim segfault).
let hostNamePattern: RegExp | undefined;
const hostNameRe = (): RegExp => (hostNamePattern ??= /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/);

export function validateHubAssignment(hub: HubAssignment): void {
  if (typeof hub.deviceId !== "string" || !/^[A-Za-z0-9\-.%_*?!(),:=@$']{1,128}$/.test(hub.deviceId)) throw new Error(`invalid device id ${JSON.stringify(hub.deviceId)}`);
  if (typeof hub.hubHostName !== "string" || !hostNameRe().test(hub.hubHostName)) throw new Error(`invalid hub host name ${JSON.stringify(hub.hubHostName)}`);
  if (hub.obtainedAt !== undefined && !(typeof hub.obtainedAt === "number" && Number.isSafeInteger(hub.obtainedAt) && hub.obtainedAt >= 0)) {
    throw new Error(`invalid assignment time ${JSON.stringify(hub.obtainedAt)}`);
  }
}

function parseWifi(value: unknown): WifiCredentials | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== "object" || Array.isArray(value)) throw new Error("wifi is not an object");
  const w = value as Record<string, unknown>;
  if (typeof w["ssid"] !== "string") throw new Error("wifi.ssid is not a string");
  if (w["passphrase"] !== undefined && typeof w["passphrase"] !== "string") throw new Error("wifi.passphrase is not a string");
  const credentials: WifiCredentials = {
    ssid: w["ssid"],
    ...(typeof w["passphrase"] === "string" ? { passphrase: w["passphrase"] } : {}),
    ...(w["allowOpen"] === true ? { allowOpen: true } : {}),
    ...(w["hidden"] === true ? { hidden: true } : {}),
  };
  validateCredentials(credentials);
  return credentials;
}

function parseHub(value: unknown): HubAssignment | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== "object" || Array.isArray(value)) throw new Error("hub is not an object");
  const h = value as Record<string, unknown>;
  const hub: HubAssignment = {
    deviceId: h["deviceId"] as string,
    hubHostName: h["hubHostName"] as string,
    ...(h["obtainedAt"] !== undefined ? { obtainedAt: h["obtainedAt"] as number } : {}),
  };
  validateHubAssignment(hub);
  return hub;
}

function parseSettings(value: unknown): Record<string, ConfigSettingValue> {
  if (value === undefined) return {};
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error("settings is not an object");
  const out: Record<string, ConfigSettingValue> = {};
  for (const key of Object.keys(value)) {
    const v = (value as Record<string, unknown>)[key];
    if (typeof v === "number" ? !Number.isFinite(v) : typeof v !== "boolean" && typeof v !== "string") throw new Error(`setting ${key} has an unsupported value`);
    out[key] = v as ConfigSettingValue;
  }
  return out;
}

function encode(version: number, config: DeviceConfig): string {
  return toJson({ v: version, wifi: config.wifi, hub: config.hub, settings: config.settings });
}

/** The versioned device configuration over a KeyValueStore. */
export class ConfigStore {
  private current: DeviceConfig;
  private readonly found: ConfigProblem[] = [];
  private readonly key: string;
  private readonly version: number;
  private readonly migrations: Readonly<Record<number, Migration>>;
  /** The version of the record found at open (undefined: none). */
  readonly storedVersion: number | undefined;

  /** Opens (reads, migrates, validates); never throws. */
  constructor(private readonly options: ConfigStoreOptions) {
    this.key = options.key ?? CONFIG_KEY;
    this.version = options.version ?? CONFIG_VERSION;
    this.migrations = options.migrations ?? MIGRATIONS;
    this.current = options.defaults;
    let raw: string | undefined;
    try {
      raw = options.store.get(this.key);
    } catch (error) {
      this.problem("corrupt", `cannot read the configuration: ${errorMessage(error)}`);
      return;
    }
    if (raw === undefined) {
      if (options.importLegacy) this.importLegacy();
      return;
    }
    if (options.importLegacy) this.dropLegacy();
    let record: RawConfig;
    try {
      const parsed: unknown = JSON.parse(raw);
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error("not a JSON object");
      const v = (parsed as { v?: unknown }).v;
      if (typeof v !== "number" || !Number.isInteger(v) || v < 1) throw new Error("no version number");
      record = parsed as RawConfig;
    } catch (error) {
      this.problem("corrupt", `stored configuration unusable (${errorMessage(error)}); using defaults`);
      return;
    }
    this.storedVersion = record.v;
    if (record.v > this.version) {
      this.problem("future-version", `stored configuration is version ${record.v}, this firmware knows up to ${this.version}; using defaults`);
      return;
    }
    const from = record.v;
    try {
      while (record.v < this.version) {
        const step = this.migrations[record.v];
        if (!step) throw new Error(`no migration from version ${record.v}`);
        const next = step(record);
        if (next.v !== record.v + 1) throw new Error(`migration from version ${record.v} produced version ${String(next.v)}`);
        record = next;
      }
    } catch (error) {
      this.problem("migration-failed", `stored configuration version ${from} could not be migrated (${errorMessage(error)}); using defaults`);
      return;
    }
    const d = options.defaults;
    let wifi = d.wifi;
    let hub = d.hub;
    let settings = d.settings;
    try {
      wifi = parseWifi(record["wifi"]);
    } catch (error) {
      this.problem("invalid-section", `wifi: ${errorMessage(error)}; using the default`);
    }
    try {
      hub = parseHub(record["hub"]);
    } catch (error) {
      this.problem("invalid-section", `hub: ${errorMessage(error)}; using the default`);
    }
    try {
      settings = { ...d.settings, ...parseSettings(record["settings"]) };
    } catch (error) {
      this.problem("invalid-section", `settings: ${errorMessage(error)}; using the defaults`);
    }
    this.current = { wifi, hub, settings };
    if (from < this.version) this.persist(); // written back once, in the current layout
  }

  get config(): DeviceConfig {
    return this.current;
  }

  /** Problems met since opening, in order. */
  get problems(): readonly ConfigProblem[] {
    return this.found;
  }

  /**
   * Changes sections (validated first; throws on invalid input, changing nothing) and stores the whole
   * record, only when it changed (flash wear). Throws when the write fails, keeping the previous value.
   */
  update(patch: Partial<DeviceConfig>): DeviceConfig {
    const next: DeviceConfig = {
      wifi: patch.wifi !== undefined ? patch.wifi : this.current.wifi,
      hub: patch.hub !== undefined ? patch.hub : this.current.hub,
      settings: patch.settings !== undefined ? { ...this.current.settings, ...patch.settings } : this.current.settings,
    };
    if (next.wifi) validateCredentials(next.wifi);
    if (next.hub) validateHubAssignment(next.hub);
    parseSettings(next.settings);
    const previous = this.current;
    this.current = next;
    try {
      this.write(next);
    } catch (error) {
      this.current = previous;
      this.problem("write-failed", `configuration not stored: ${errorMessage(error)}`);
      throw error;
    }
    return next;
  }

  /** Back to the defaults, and removes the stored record. */
  reset(): void {
    this.current = this.options.defaults;
    this.options.store.delete(this.key);
  }

  private write(config: DeviceConfig): void {
    const text = encode(this.version, config);
    if (this.options.store.get(this.key) !== text) this.options.store.set(this.key, text);
  }

  private persist(): void {
    try {
      this.write(this.current);
    } catch (error) {
      this.problem("write-failed", `migrated configuration not stored: ${errorMessage(error)}`);
    }
  }

  /**
   * Legacy records: "wifi" {v:1,ssid,passphrase?,allowOpen?,hidden?}, "boot.assign" {v:1,deviceId,hubHostName},
   * "settings" {v:1,values:{...}}. An unusable one is reported and skipped. The legacy keys are deleted only
   * after the imported configuration is stored.
   */
  private importLegacy(): void {
    const store = this.options.store;
    const d = this.options.defaults;
    let wifi = d.wifi;
    let hub = d.hub;
    let settings = d.settings;
    let found = false;
    const read = (key: string): Record<string, unknown> | undefined => {
      const raw = store.get(key);
      if (raw === undefined) return undefined;
      found = true;
      const record: unknown = JSON.parse(raw);
      if (typeof record !== "object" || record === null || Array.isArray(record) || (record as { v?: unknown }).v !== 1) throw new Error("not a version 1 record");
      return record as Record<string, unknown>;
    };
    const section = (key: string, take: (record: Record<string, unknown>) => void): void => {
      try {
        const record = read(key);
        if (record) take(record);
      } catch (error) {
        this.problem("invalid-section", `legacy ${key} record not imported: ${errorMessage(error)}; using the default`);
      }
    };
    section("wifi", (r) => {
      const { v: _v, ...rest } = r;
      void _v;
      wifi = parseWifi(rest);
    });
    section("boot.assign", (r) => {
      hub = parseHub({ deviceId: r["deviceId"], hubHostName: r["hubHostName"] });
    });
    section("settings", (r) => {
      settings = { ...d.settings, ...parseSettings(r["values"]) };
    });
    if (!found) return;
    this.current = { wifi, hub, settings };
    try {
      this.write(this.current);
    } catch (error) {
      this.problem("write-failed", `imported configuration not stored: ${errorMessage(error)}`);
      return; // the legacy keys stay, to be imported on the next open
    }
    this.dropLegacy();
  }

  /** Deletes legacy keys left over (e.g. by a restart between storing the import and deleting them). */
  private dropLegacy(): void {
    for (const key of LEGACY_CONFIG_KEYS) {
      try {
        if (this.options.store.get(key) !== undefined) this.options.store.delete(key);
      } catch (error) {
        this.problem("write-failed", `legacy key ${key} not deleted: ${errorMessage(error)}`);
      }
    }
  }

  private problem(kind: ConfigProblemKind, message: string): void {
    const p = { kind, message };
    this.found.push(p);
    try {
      this.options.onProblem?.(p);
    } catch {
      // a reporting hook must not break opening
    }
  }
}
