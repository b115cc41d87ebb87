import type { KeyValueStore } from "../ports/storage";
import type { ConfigStore } from "../storage/config-store";
import type { ScopedLogger } from "../ports/logger";
import type { DesiredUpdate, JsonObject } from "../azure/twin";
import { errorMessage } from "../core/listeners";
import { SETTINGS, fieldProblem } from "./schema";
import { toJson } from "../core/json";

export type SettingValue = number | boolean;
export type SettingValues = Readonly<Record<string, SettingValue>>;

/** What the device needs of the twin. */
export interface SettingsTwin {
  onDesired(listener: (update: DesiredUpdate) => void): () => void;
  report(patch: JsonObject): Promise<number>;
}

export interface DeviceSettingsOptions {
  readonly twin: SettingsTwin;
  readonly store: KeyValueStore;
  /** The device configuration: values live in its `settings` section (else in the legacy record in `store`). */
  readonly config?: ConfigStore;
  readonly logger: ScopedLogger;
  /** The settings this product has (its model's writable properties). */
  readonly names: readonly string[];
  readonly defaults: SettingValues;
  /** Applies values at once (LED brightness, gesture thresholds ...); may throw to refuse them. */
  readonly apply: (values: SettingValues) => void;
}

const KEY = "settings";

/**
 * Writable twin properties: validated against the schema, applied at once, persisted (so the device keeps
 * working with them offline and after a restart) and acknowledged as reported properties with the Azure
 * convention `{ value, ac, av, ad }` (ac = status, av = the desired $version it answers).
 */
export class DeviceSettings {
  private values: Record<string, SettingValue>;

  constructor(private readonly options: DeviceSettingsOptions) {
    this.values = { ...options.defaults, ...this.load() };
    options.apply(this.values);
    options.twin.onDesired((update) => this.onDesired(update));
  }

  get current(): SettingValues {
    return this.values;
  }

  private load(): Record<string, SettingValue> {
    if (this.options.config) return this.known(this.options.config.config.settings);
    const raw = this.options.store.get(KEY);
    if (raw === undefined) return {};
    try {
      const record = JSON.parse(raw) as { v?: unknown; values?: unknown };
      if (record.v !== 1 || typeof record.values !== "object" || record.values === null) throw new Error("unknown record format");
      return this.known(record.values as Record<string, unknown>);
    } catch (error) {
      this.options.logger.error("stored settings unusable; using defaults", { error: errorMessage(error) });
      return {};
    }
  }

  /** The values this product has and the schema accepts (others are dropped). */
  private known(values: Readonly<Record<string, unknown>>): Record<string, SettingValue> {
    const out: Record<string, SettingValue> = {};
    for (const [k, v] of Object.entries(values)) {
      const schema = SETTINGS[k];
      if (this.options.names.includes(k) && schema && fieldProblem(v, schema) === undefined) out[k] = v as SettingValue;
    }
    return out;
  }

  private persist(values: Record<string, SettingValue>): void {
    if (this.options.config) this.options.config.update({ settings: values });
    else this.options.store.set(KEY, toJson({ v: 1, values }));
  }

  private onDesired(update: DesiredUpdate): void {
    const accepted: Record<string, SettingValue> = {};
    const acks: JsonObject = {};
    for (const [name, value] of Object.entries(update.properties)) {
      const schema = SETTINGS[name];
      if (!schema || !this.options.names.includes(name)) {
        this.options.logger.debug("desired property is not a device setting; left to its own handler (e.g. firmware) or ignored", { name });
        continue;
      }
      const problem = fieldProblem(value, schema);
      if (problem) {
        acks[name] = { value: this.values[name] ?? null, ac: 400, av: update.version, ad: `${name} ${problem}` };
        continue;
      }
      accepted[name] = value as SettingValue;
    }
    if (Object.keys(accepted).length > 0) {
      const next = { ...this.values, ...accepted };
      try {
        this.options.apply(next);
        this.values = next;
        this.persist(next);
        for (const [name, value] of Object.entries(accepted)) acks[name] = { value, ac: 200, av: update.version, ad: "applied" };
      } catch (error) {
        for (const name of Object.keys(accepted)) acks[name] = { value: this.values[name] ?? null, ac: 500, av: update.version, ad: `not applied: ${errorMessage(error)}` };
      }
    }
    if (Object.keys(acks).length > 0) {
      this.options.twin.report(acks).catch((error: unknown) => this.options.logger.warn("settings acknowledgement not sent", { error: errorMessage(error) }));
    }
  }
}
