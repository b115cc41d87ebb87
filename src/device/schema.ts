/**
 * Everything the device says to the cloud and accepts from it, in one place: telemetry events,
 * direct methods (and their cloud-to-device equivalents), and twin properties. The integration guide
 * promises that only status and metadata leave the device; `checkTelemetry` enforces it: an event that
 * is not declared here, or carries a field that is not, is refused before it is queued.
 *
 * Telemetry follows IoT Plug and Play: the body is `{ "<EventName>": { ...fields } }`, the event name
 * also travels as the application property `event` for routing. The DTDL models in models/ describe the
 * same (a test keeps them in step).
 */
import { LED_COLORS } from "./colors";

export type FieldSchema =
  | { readonly type: "integer"; readonly min: number; readonly max: number }
  | { readonly type: "double"; readonly min: number; readonly max: number }
  | { readonly type: "boolean" }
  | { readonly type: "dateTime" }
  | { readonly type: "string"; readonly maxLength: number }
  | { readonly type: "enum"; readonly values: readonly string[] }
  | { readonly type: "integerArray"; readonly min: number; readonly max: number; readonly maxItems: number };

export interface MessageSchema {
  readonly fields: Readonly<Record<string, FieldSchema>>;
  /** Fields that may be absent. */
  readonly optional?: readonly string[];
}

export const GESTURES = ["short", "long", "double"] as const;
export const PATTERNS = ["off", "on", "blink", "flash", "breathe"] as const;
export const PROFILES = ["box", "light"] as const;
export type ProfileName = (typeof PROFILES)[number];

const ts: FieldSchema = { type: "dateTime" };
const index: FieldSchema = { type: "integer", min: 1, max: 16 };
const indexes: FieldSchema = { type: "integerArray", min: 1, max: 16, maxItems: 16 };
const color: FieldSchema = { type: "enum", values: LED_COLORS };
const pattern: FieldSchema = { type: "enum", values: PATTERNS };

const setColorEvent: MessageSchema = { fields: { target: { type: "enum", values: ["button", "segment"] }, indexes, pattern, ts } };

/** Telemetry events, by the names the KIS.MANAGER expects (`Button_pressed`, `Set_Color_green`, ...). */
export const TELEMETRY: Readonly<Record<string, MessageSchema>> = {
  Button_pressed: { fields: { button: index, gesture: { type: "enum", values: GESTURES }, ts } },
  Button_stuck: { fields: { button: index, ts } },
  Button_released: { fields: { button: index, ts } },
  ...Object.fromEntries(LED_COLORS.map((c) => [`Set_Color_${c}`, setColorEvent])),
  Device_started: {
    fields: { firmware: { type: "string", maxLength: 32 }, profile: { type: "enum", values: PROFILES }, resetReason: { type: "string", maxLength: 32 }, ts },
  },
  Events_dropped: { fields: { count: { type: "integer", min: 1, max: 1_000_000_000 }, ts } },
};

/** Direct methods; the same commands arrive as cloud-to-device messages `{"method": name, "payload": {...}}`. */
export const COMMANDS: Readonly<Record<string, MessageSchema>> = {
  setColor: {
    fields: { button: index, segment: index, color, pattern, periodMs: { type: "integer", min: 100, max: 60_000 }, brightness: { type: "integer", min: 0, max: 100 } },
    optional: ["button", "segment", "pattern", "periodMs", "brightness"],
  },
  allOff: { fields: {} },
  identify: { fields: { seconds: { type: "integer", min: 1, max: 600 } }, optional: ["seconds"] },
  // At least 1 s: the answer reaches the hub before the restart (and a reboot is rate limited, see RebootLimiter).
  reboot: { fields: { delayMs: { type: "integer", min: 1000, max: 60_000 } }, optional: ["delayMs"] },
  getLog: { fields: { lines: { type: "integer", min: 1, max: 100 } }, optional: ["lines"] },
};

/** Writable twin properties (desired → applied → reported with the Azure acknowledgement convention). */
export const SETTINGS: Readonly<Record<string, FieldSchema>> = {
  brightness: { type: "integer", min: 0, max: 100 },
  debounceMs: { type: "integer", min: 5, max: 200 },
  longPressMs: { type: "integer", min: 300, max: 10_000 },
  doublePress: { type: "boolean" },
  doublePressMs: { type: "integer", min: 150, max: 1000 },
  deliveryFeedback: { type: "boolean" },
};

export class SchemaError extends Error {
  override readonly name = "SchemaError";
}

/** Why `value` does not fit `schema`, or undefined when it does. */
export function fieldProblem(value: unknown, schema: FieldSchema): string | undefined {
  switch (schema.type) {
    case "integer":
    case "double":
      if (typeof value !== "number" || !Number.isFinite(value) || (schema.type === "integer" && !Number.isInteger(value))) return `must be ${schema.type === "integer" ? "an integer" : "a number"}`;
      return value < schema.min || value > schema.max ? `must be ${schema.min}..${schema.max}` : undefined;
    case "boolean":
      return typeof value === "boolean" ? undefined : "must be true or false";
    case "dateTime":
      // No bounded quantifier inside the optional group: XS matches those wrongly.
      return typeof value === "string" && value.length <= 24 && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(value) ? undefined : "must be an ISO 8601 UTC time";
    case "string":
      return typeof value === "string" && value.length <= schema.maxLength ? undefined : `must be a string of at most ${schema.maxLength} characters`;
    case "enum":
      return typeof value === "string" && schema.values.includes(value) ? undefined : `must be one of ${schema.values.join(", ")}`;
    case "integerArray":
      if (!Array.isArray(value) || value.length === 0 || value.length > schema.maxItems) return `must be a list of 1..${schema.maxItems} integers`;
      return value.every((v) => Number.isInteger(v) && v >= schema.min && v <= schema.max) ? undefined : `must hold integers ${schema.min}..${schema.max}`;
  }
}

/** Checks an object against a message schema: every required field, nothing undeclared. Throws SchemaError. */
export function checkMessage(what: string, value: unknown, schema: MessageSchema): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new SchemaError(`${what}: expected an object`);
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!Object.prototype.hasOwnProperty.call(schema.fields, key)) throw new SchemaError(`${what}: unknown field ${JSON.stringify(key)}`);
  }
  for (const [key, field] of Object.entries(schema.fields)) {
    if (record[key] === undefined) {
      if (schema.optional?.includes(key)) continue;
      throw new SchemaError(`${what}: missing field ${key}`);
    }
    const problem = fieldProblem(record[key], field);
    if (problem) throw new SchemaError(`${what}: ${key} ${problem}`);
  }
  return record;
}

/** Validates a telemetry event before it may leave the device. Returns the PnP body. */
export function telemetryBody(event: string, fields: Record<string, unknown>): Record<string, unknown> {
  const schema = Object.prototype.hasOwnProperty.call(TELEMETRY, event) ? TELEMETRY[event] : undefined;
  if (!schema) throw new SchemaError(`telemetry event ${JSON.stringify(event)} is not declared in the schema`);
  return { [event]: checkMessage(event, fields, schema) };
}

/** Validates a whole telemetry body as it would be sent (used by tests on everything the device emits). */
export function checkTelemetry(body: unknown): string {
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw new SchemaError("telemetry body must be an object");
  const keys = Object.keys(body);
  if (keys.length !== 1) throw new SchemaError(`telemetry body must hold exactly one event, has ${keys.length}`);
  const event = keys[0]!;
  telemetryBody(event, (body as Record<string, unknown>)[event] as Record<string, unknown>);
  return event;
}

/** What each product sends and accepts (its IoT Plug and Play model). */
export interface ProductModel {
  readonly modelId: string;
  readonly displayName: string;
  readonly telemetry: readonly string[];
  readonly commands: readonly string[];
  readonly settings: readonly string[];
}

const COLOR_EVENTS = LED_COLORS.map((c) => `Set_Color_${c}`);

export const PRODUCT_MODELS: Readonly<Record<ProfileName, ProductModel>> = {
  box: {
    modelId: "dtmi:kisme:KisBox;1",
    displayName: "KIS.BOX",
    telemetry: ["Button_pressed", "Button_stuck", "Button_released", ...COLOR_EVENTS, "Device_started", "Events_dropped"],
    commands: ["setColor", "allOff", "identify", "reboot", "getLog"],
    settings: ["brightness", "debounceMs", "longPressMs", "doublePress", "doublePressMs", "deliveryFeedback"],
  },
  light: {
    modelId: "dtmi:kisme:KisLight;1",
    displayName: "KIS.LIGHT",
    telemetry: [...COLOR_EVENTS, "Device_started", "Events_dropped"],
    commands: ["setColor", "allOff", "identify", "reboot", "getLog"],
    settings: ["brightness"],
  },
};
