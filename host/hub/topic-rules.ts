/**
 * What the local hub's broker lets each identity do, as IoT Hub does (see shared/notes/azure-iot-hub.md).
 *
 * `$iothub/...` topics carry no device id, so the broker scopes them per connection: what device D publishes on
 * `$iothub/...` is carried on `$device/D/$iothub/...` (where only the hub's service side may subscribe), and what the
 * service publishes on `$device/D/$iothub/...` is delivered to D's connection alone, under the device-facing topic.
 * No one can publish a device-facing `$iothub/...` topic that another device would receive.
 */
import { validateDeviceId } from "../../src/azure/topics";

/** The broker-internal prefix of device D's `$iothub` traffic: `$device/D/$iothub/...`. */
export const DEVICE_SCOPE = "$device/";

/** The `$iothub` topic of device D as the service side sees it. */
export function deviceScoped(deviceId: string, iothubTopic: string): string {
  return `${DEVICE_SCOPE}${deviceId}/${iothubTopic}`;
}

/** Splits `$device/D/$iothub/...` into D and the device-facing topic. */
export function parseDeviceScoped(topic: string): { deviceId: string; topic: string } | undefined {
  if (!topic.startsWith(DEVICE_SCOPE)) return undefined;
  const rest = topic.slice(DEVICE_SCOPE.length);
  const slash = rest.indexOf("/");
  if (slash <= 0) return undefined;
  const inner = rest.slice(slash + 1);
  return inner.startsWith("$iothub/") ? { deviceId: rest.slice(0, slash), topic: inner } : undefined;
}

/** A certificate CN the broker accepts as an MQTT identity: an IoT Hub device id without MQTT wildcards or `/`. */
export function isValidIdentity(id: string): boolean {
  try {
    validateDeviceId(id);
    return true;
  } catch {
    return false;
  }
}

/** The exact filters a device may subscribe to (IoT Hub's device-side subscriptions). */
export function deviceFilters(deviceId: string): readonly string[] {
  return [`devices/${deviceId}/messages/devicebound/#`, ...TO_DEVICE_FILTERS];
}

/** The `$iothub` filters for what the service sends to a device; deliveries to them are routed per connection. */
export const TO_DEVICE_FILTERS = ["$iothub/twin/res/#", "$iothub/twin/PATCH/properties/desired/#", "$iothub/methods/POST/#"] as const;

export function deviceMaySubscribe(deviceId: string, filter: string): boolean {
  return deviceFilters(deviceId).includes(filter);
}

const RID = /(^|&)\$rid=[^&]+/;

/** `prefix` followed by `?{bag}` whose bag carries a `$rid`. */
function requestWithRid(topic: string, prefix: string): boolean {
  return topic.startsWith(prefix) && RID.test(topic.slice(prefix.length));
}

/**
 * The topic a device's PUBLISH is carried on, or undefined when the device may not publish it: its own telemetry
 * (as is), and, scoped to the device, twin GET, reported-properties PATCH and method responses.
 */
export function devicePublishTopic(deviceId: string, topic: string): string | undefined {
  if (topic.startsWith(`devices/${deviceId}/messages/events/`)) return topic;
  if (requestWithRid(topic, "$iothub/twin/GET/?") || requestWithRid(topic, "$iothub/twin/PATCH/properties/reported/?")) return deviceScoped(deviceId, topic);
  const method = /^\$iothub\/methods\/res\/\d{3}\/\?/.exec(topic);
  if (method && requestWithRid(topic, method[0])) return deviceScoped(deviceId, topic);
  return undefined;
}

/** The filter of TO_DEVICE_FILTERS a device-facing `$iothub` topic from the service is delivered under, if any. */
export function toDeviceFilter(iothubTopic: string): (typeof TO_DEVICE_FILTERS)[number] | undefined {
  if (iothubTopic.startsWith("$iothub/twin/res/")) return "$iothub/twin/res/#";
  if (iothubTopic.startsWith("$iothub/twin/PATCH/properties/desired/")) return "$iothub/twin/PATCH/properties/desired/#";
  if (iothubTopic.startsWith("$iothub/methods/POST/")) return "$iothub/methods/POST/#";
  return undefined;
}

/** What the broker may deliver to device D: its cloud-to-device messages and what the service addressed to it. */
export function deviceMayReceive(deviceId: string, topic: string): boolean {
  return topic.startsWith(`devices/${deviceId}/messages/devicebound/`) || toDeviceFilter(topic) !== undefined;
}

/** The hub's service side publishes cloud-to-device messages and, scoped to a device, twin responses, desired patches and method calls. */
export function serviceMayPublish(topic: string): boolean {
  const c2d = /^devices\/([^/]+)\/messages\/devicebound\//.exec(topic);
  if (c2d) return isValidIdentity(c2d[1]!);
  const scoped = parseDeviceScoped(topic);
  return scoped !== undefined && isValidIdentity(scoped.deviceId) && toDeviceFilter(scoped.topic) !== undefined;
}

/** The service side subscribes to telemetry and to the scoped twin requests and method responses of one device or all (`+`). */
export function serviceMaySubscribe(filter: string): boolean {
  const m = /^devices\/([^/]+)\/messages\/events\/#$/.exec(filter) ?? /^\$device\/([^/]+)\/\$iothub\/(?:twin\/GET|twin\/PATCH\/properties\/reported|methods\/res)\/#$/.exec(filter);
  return m !== null && (m[1] === "+" || isValidIdentity(m[1]!));
}
