/**
 * The ASSUMED contract of the KIS.ME bootstrap service (bootstrap.centersightcloud.com).
 *
 * The service's real API is not public. Everything the firmware assumes about it lives in this one
 * module (request shape, status meanings, response schema and its checks), so a corrected contract is
 * a change here and in its tests only. BOOTSTRAP_CONTRACT below is the same description as Markdown,
 * ready for the README.
 */
import type { HttpsRequest, HttpsResponse } from "../ports/https";
import { validateDeviceId } from "../azure/topics";
import { fromUtf8 } from "../core/bytes";

export const BOOTSTRAP_HOST = "bootstrap.centersightcloud.com";
export const BOOTSTRAP_PORT = 443;
/** The hub the firmware is built for; used when neither the service nor the cache has an answer. */
export const DEFAULT_HUB_HOST = "iotrafi-prod-iot-hub.azure-devices.net";
/** The hub is reached with MQTT over TLS on this port; an assigned hub must be allowed there. */
export const HUB_MQTT_TLS_PORT = 8883;
export const USER_AGENT_PRODUCT = "kisme-firmware";

export const BOOTSTRAP_CONTRACT = `### Bootstrap service contract (assumed)

The bootstrap API of \`${BOOTSTRAP_HOST}\` is not public; the firmware assumes the contract below
(defined in \`src/bootstrap/bootstrap-contract.ts\`, the only place to change it).

**Request**

    GET /api/v1/devices/{deviceId}/assignment HTTP/1.1
    Host: ${BOOTSTRAP_HOST}
    Accept: application/json
    User-Agent: ${USER_AGENT_PRODUCT}/{firmware version}

- HTTPS on port ${BOOTSTRAP_PORT}, server certificate checked against the firmware's pinned roots and the name \`${BOOTSTRAP_HOST}\`.
- The device authenticates with its X.509 client certificate (mutual TLS, CN = device id); no other credentials.
- \`{deviceId}\` is the IoT Hub device id, percent-encoded as a URI component. Ids that are not valid IoT Hub
  device ids (or are the dot-segments \`.\` / \`..\`) are never sent.
- No redirects are followed (the device may reach only the hosts in its egress table).

**Response**

- \`200\` with \`Content-Type: application/json\` (parameters such as \`charset=utf-8\` allowed; a missing
  Content-Type is tolerated) and a UTF-8 JSON object:

      { "deviceId": "box-0042", "hubHostName": "iotrafi-prod-iot-hub.azure-devices.net" }

  - \`deviceId\` (string): must be a valid IoT Hub device id and equal, case-sensitively, to the requesting device's id.
  - \`hubHostName\` (string): a DNS host name (letters, digits, hyphens; 2+ labels of 1-63 characters; at most 253
    characters; no IP literal, port, scheme or trailing dot; compared case-insensitively, stored in lower case)
    that the firmware's egress table allows for MQTT over TLS on port ${HUB_MQTT_TLS_PORT}.
  - Any other members are ignored. The body is bounded (4 KiB by default).
- \`404\`: the device is unknown to the bootstrap service. \`401\`/\`403\`: the device is not authorized.
  \`429\`: rate limited. \`5xx\`: service error. Any other status, and any body that breaks the rules above, is a failure.

**When it is asked** (cache-first, \`src/bootstrap/assignment-policy.ts\`): on the first boot (nothing cached), before
the hub. With a cached assignment the device connects to that hub at once and asks the service only when the hub
refuses the device (CONNACK return code 1, 2, 4 or 5, e.g. an unknown device: at once, once per outage), after 3
consecutive failed hub attempts (\`boot.hubFailuresBeforeBootstrap\`) or a hub not reached within the hub phase, and
in the background, once online and never delaying the connection, when the assignment is older than 7 days
(\`boot.maxAssignmentAgeMs\`) or has no time stamp (cached by older firmware); a failed background request is
retried after an hour. A different hub from a background answer is cached at once and used from the next reconnect
on (a working connection is not dropped for it).

**Fallback**: on any failure the device uses the last valid assignment it cached (the hub section of its configuration, key \`config\`,
stamped with the time the service gave it as \`obtainedAt\`), else the compiled-in hub \`${DEFAULT_HUB_HOST}\` with its own
device id; a device working from its cache keeps the cached hub (with backoff) when the service fails.
`;

export type BootstrapRequest = Pick<HttpsRequest, "method" | "path" | "headers">;

/** Why a response was refused. */
export type BootstrapFailureKind = "status" | "media-type" | "encoding" | "json" | "schema" | "device-id" | "hub";

export class BootstrapResponseError extends Error {
  override readonly name = "BootstrapResponseError";
  constructor(
    readonly kind: BootstrapFailureKind,
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** A validated assignment. */
export interface HubAssignment {
  readonly deviceId: string;
  readonly hubHostName: string;
}

// Made at run time, once: XS would preload a module-level RegExp into flash, where exec crashes (mcsim segfault).
let versionPattern: RegExp | undefined;
const versionRe = (): RegExp => (versionPattern ??= /^[A-Za-z0-9][A-Za-z0-9.+_-]{0,31}$/);

/** The path of the assignment resource for one device. Throws RangeError for an id that must not be sent. */
export function assignmentPath(deviceId: string): string {
  validateDeviceId(deviceId);
  if (deviceId === "." || deviceId === "..") throw new RangeError(`device id ${JSON.stringify(deviceId)} is a path dot-segment`);
  return `/api/v1/devices/${encodeURIComponent(deviceId)}/assignment`;
}

/** `kisme-firmware/<version>`. Throws RangeError for a version that is not one header token. */
export function userAgent(firmwareVersion: string): string {
  if (!versionRe().test(firmwareVersion)) throw new RangeError(`invalid firmware version ${JSON.stringify(firmwareVersion)} for the User-Agent`);
  return `${USER_AGENT_PRODUCT}/${firmwareVersion}`;
}

/** The request for `deviceId`'s hub assignment (host, port, TLS and limits are the client's). */
export function buildAssignmentRequest(deviceId: string, firmwareVersion: string): BootstrapRequest {
  const agent = userAgent(firmwareVersion);
  return { method: "GET", path: assignmentPath(deviceId), headers: { Accept: "application/json", "User-Agent": agent } };
}

/**
 * One DNS label, 1-63 characters. The length is checked apart: XS (Moddable SDK) mis-handles a bounded
 * quantifier inside an optional group, so /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/ accepts longer labels there.
 */
function isLabel(label: string): boolean {
  return label.length >= 1 && label.length <= 63 && /^[a-z0-9-]+$/.test(label) && !label.startsWith("-") && !label.endsWith("-");
}

/** True for a DNS host name as the contract allows it (see BOOTSTRAP_CONTRACT); case-insensitive. */
export function isDnsHostName(name: string): boolean {
  if (name.length === 0 || name.length > 253) return false;
  const labels = name.toLowerCase().split(".");
  if (labels.length < 2) return false;
  for (const label of labels) if (!isLabel(label)) return false;
  return !/^[0-9]+$/.test(labels[labels.length - 1]!); // a numeric top label would be an IPv4 literal
}

/** Meaning of a status other than 200, as the firmware reports it. */
export function describeStatus(status: number): string {
  if (status === 404) return "device unknown to bootstrap (404)";
  if (status === 401 || status === 403) return `device not authorized by bootstrap (${status})`;
  if (status === 429) return "bootstrap rate limit (429)";
  if (status >= 500 && status <= 599) return `service error (${status})`;
  if (status >= 300 && status <= 399) return `redirect not followed (${status})`;
  return `unexpected status ${status}`;
}

function own(object: object, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(object, key) ? (object as Record<string, unknown>)[key] : undefined;
}

/**
 * Checks one assignment (from the service or the cache) for `expectedDeviceId`. `allowsHub` says whether the
 * egress table allows MQTT/TLS to a host. Returns it with the host name in lower case; throws BootstrapResponseError.
 */
export function validateAssignment(value: unknown, expectedDeviceId: string, allowsHub: (host: string) => boolean): HubAssignment {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new BootstrapResponseError("schema", "assignment is not a JSON object");
  const deviceId = own(value, "deviceId");
  const hubHostName = own(value, "hubHostName");
  if (typeof deviceId !== "string") throw new BootstrapResponseError("schema", "deviceId is missing or not a string");
  if (typeof hubHostName !== "string") throw new BootstrapResponseError("schema", "hubHostName is missing or not a string");
  try {
    validateDeviceId(deviceId);
  } catch (error) {
    throw new BootstrapResponseError("device-id", error instanceof Error ? error.message : String(error));
  }
  if (deviceId !== expectedDeviceId) {
    throw new BootstrapResponseError("device-id", `assignment is for device ${JSON.stringify(deviceId)}, not ${JSON.stringify(expectedDeviceId)}`);
  }
  if (!isDnsHostName(hubHostName)) throw new BootstrapResponseError("hub", `hubHostName ${JSON.stringify(hubHostName)} is not a valid DNS host name`);
  const host = hubHostName.toLowerCase();
  if (!allowsHub(host)) {
    throw new BootstrapResponseError("hub", `hub ${host} is not allowed by the egress table for MQTT/TLS ${HUB_MQTT_TLS_PORT}`);
  }
  return { deviceId, hubHostName: host };
}

function isJsonMediaType(contentType: string): boolean {
  return contentType.split(";")[0]!.trim().toLowerCase() === "application/json";
}

/** Parses and checks the service's answer to buildAssignmentRequest(expectedDeviceId). Throws BootstrapResponseError. */
export function parseAssignmentResponse(response: HttpsResponse, expectedDeviceId: string, allowsHub: (host: string) => boolean): HubAssignment {
  if (response.status !== 200) throw new BootstrapResponseError("status", describeStatus(response.status), response.status);
  const contentType = response.headers["content-type"];
  if (contentType !== undefined && !isJsonMediaType(contentType)) {
    throw new BootstrapResponseError("media-type", `unexpected Content-Type ${JSON.stringify(contentType)} (want application/json)`);
  }
  let text: string;
  try {
    text = fromUtf8(response.body);
  } catch {
    throw new BootstrapResponseError("encoding", "response body is not valid UTF-8");
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new BootstrapResponseError("json", `response body is not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  return validateAssignment(value, expectedDeviceId, allowsHub);
}
