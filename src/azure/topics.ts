/** IoT Hub MQTT topic names (see shared/notes/azure-iot-hub.md). */
import { decodePropertyBag } from "./property-bag";

export const API_VERSION = "2021-04-12";

export const TWIN_RESPONSE_FILTER = "$iothub/twin/res/#";
export const TWIN_DESIRED_FILTER = "$iothub/twin/PATCH/properties/desired/#";
export const METHODS_FILTER = "$iothub/methods/POST/#";

/**
 * IoT Hub device ids: up to 128 ASCII letters, digits and `- . % _ * ? ! ( ) , : = @ $ '`.
 * `+` and `#` (also legal in the hub) are refused: they are MQTT wildcards and would break subscriptions.
 */
// Made at run time, once: XS would preload a module-level RegExp into flash, where exec crashes (mcsim segfault).
let deviceIdPattern: RegExp | undefined;
const deviceIdRe = (): RegExp => (deviceIdPattern ??= /^[A-Za-z0-9\-.%_*?!(),:=@$']{1,128}$/);

export function validateDeviceId(id: string): void {
  if (!deviceIdRe().test(id)) {
    throw new RangeError(`invalid device id ${JSON.stringify(id)}: 1-128 characters of A-Z a-z 0-9 - . % _ * ? ! ( ) , : = @ $ '`);
  }
}

export function telemetryTopic(deviceId: string, encodedBag: string): string {
  return `devices/${deviceId}/messages/events/${encodedBag}`;
}

export function cloudMessageFilter(deviceId: string): string {
  return `devices/${deviceId}/messages/devicebound/#`;
}

/** The property-bag part of a cloud-to-device topic, or undefined if the topic is not one. */
export function cloudMessageBag(deviceId: string, topic: string): string | undefined {
  const prefix = `devices/${deviceId}/messages/devicebound/`;
  return topic.startsWith(prefix) ? topic.slice(prefix.length) : undefined;
}

export function twinGetTopic(rid: string): string {
  return `$iothub/twin/GET/?$rid=${encodeURIComponent(rid)}`;
}

export function twinReportedTopic(rid: string): string {
  return `$iothub/twin/PATCH/properties/reported/?$rid=${encodeURIComponent(rid)}`;
}

export function methodResponseTopic(status: number, rid: string): string {
  return `$iothub/methods/res/${status}/?$rid=${encodeURIComponent(rid)}`;
}

/** Splits `prefix{segment}/?{bag}`; the bag may be empty or missing. */
function segmentAndBag(topic: string, prefix: string): { segment: string; props: Record<string, string> } | undefined {
  if (!topic.startsWith(prefix)) return undefined;
  const rest = topic.slice(prefix.length);
  const q = rest.indexOf("/?");
  const segment = q < 0 ? rest.replace(/\/$/, "") : rest.slice(0, q);
  const props = q < 0 ? {} : decodePropertyBag(rest.slice(q + 2));
  return { segment, props };
}

export interface TwinResponseTopic {
  readonly status: number;
  readonly rid: string | undefined;
  readonly version: number | undefined;
}

export function parseTwinResponseTopic(topic: string): TwinResponseTopic | undefined {
  const parts = segmentAndBag(topic, "$iothub/twin/res/");
  if (!parts || !/^\d{3}$/.test(parts.segment)) return undefined;
  const version = parts.props["$version"];
  return {
    status: Number(parts.segment),
    rid: parts.props["$rid"],
    version: version !== undefined && /^\d+$/.test(version) ? Number(version) : undefined,
  };
}

/** The `$version` of a desired-properties patch topic, or undefined if the topic is not one or has none. */
export function parseDesiredPatchTopic(topic: string): { version: number | undefined } | undefined {
  const prefix = "$iothub/twin/PATCH/properties/desired/";
  if (!topic.startsWith(prefix)) return undefined;
  const rest = topic.slice(prefix.length);
  const props = decodePropertyBag(rest.startsWith("?") ? rest.slice(1) : rest);
  const version = props["$version"];
  return { version: version !== undefined && /^\d+$/.test(version) ? Number(version) : undefined };
}

export interface MethodCallTopic {
  readonly name: string;
  readonly rid: string;
}

export function parseMethodTopic(topic: string): MethodCallTopic | undefined {
  const parts = segmentAndBag(topic, "$iothub/methods/POST/");
  if (!parts || parts.segment.length === 0) return undefined;
  const rid = parts.props["$rid"];
  if (rid === undefined) return undefined;
  return { name: parts.segment, rid };
}
