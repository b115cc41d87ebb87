import type { MqttConnectOptions, TlsCredentials } from "../ports/mqtt";
import { API_VERSION, validateDeviceId } from "./topics";

/** The hub closes a connection after 1.5 x keep-alive capped at 1767 s, so 1177 s is the most a client may ask for. */
export const MAX_KEEP_ALIVE_SECONDS = 1177;

export interface HubEndpoint {
  /** e.g. `iotrafi-prod-iot-hub.azure-devices.net` */
  readonly host: string;
  readonly port: number;
  /**
   * Where to open the socket when it is not `host` itself (a local run maps the hub name to 127.0.0.1).
   * The hub's certificate is still checked against `host`.
   */
  readonly address?: string;
}

export interface DeviceIdentity {
  readonly deviceId: string;
  /** IoT Plug and Play model id (dtmi:...), announced in CONNECT. */
  readonly modelId?: string;
  readonly tls: TlsCredentials;
}

/** `{hub}/{id}/?api-version=2021-04-12[&model-id=...]` */
export function hubUsername(hubHost: string, deviceId: string, modelId?: string): string {
  const base = `${hubHost}/${deviceId}/?api-version=${API_VERSION}`;
  return modelId ? `${base}&model-id=${encodeURIComponent(modelId)}` : base;
}

export function validateKeepAlive(seconds: number): void {
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > MAX_KEEP_ALIVE_SECONDS) {
    throw new RangeError(`keep-alive must be a whole number of seconds from 1 to ${MAX_KEEP_ALIVE_SECONDS}, got ${seconds}`);
  }
}

/** CONNECT as the official device SDKs send it: client id = device id, no password (X.509), clean session off. */
export function hubConnectOptions(endpoint: HubEndpoint, identity: DeviceIdentity, keepAliveSeconds: number): MqttConnectOptions {
  validateDeviceId(identity.deviceId);
  validateKeepAlive(keepAliveSeconds);
  if (identity.modelId !== undefined && !/^dtmi:[A-Za-z0-9_:]+;[1-9][0-9]*$/.test(identity.modelId)) {
    throw new RangeError(`invalid model id ${JSON.stringify(identity.modelId)} (expected dtmi:<path>;<version>)`);
  }
  return {
    host: endpoint.address ?? endpoint.host,
    port: endpoint.port,
    serverName: endpoint.host,
    clientId: identity.deviceId,
    username: hubUsername(endpoint.host, identity.deviceId, identity.modelId),
    cleanSession: false,
    keepAliveSeconds,
    tls: identity.tls,
  };
}
