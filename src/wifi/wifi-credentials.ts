import type { KeyValueStore } from "../ports/storage";
import type { WifiAuthMode } from "../ports/wifi";
import type { ConfigStore } from "../storage/config-store";
import { toJson } from "../core/json";

export class WifiConfigError extends Error {
  override readonly name = "WifiConfigError";
  constructor(message: string) {
    super(message);
  }
}

export interface WifiCredentials {
  readonly ssid: string;
  /** WPA/WPA2 passphrase (8-63 printable ASCII) or raw PSK (64 hex digits); absent for an open network. */
  readonly passphrase?: string;
  /** Joining a network without security must be asked for explicitly. */
  readonly allowOpen?: boolean;
  /** The network does not broadcast its SSID: join without finding it in a scan first. */
  readonly hidden?: boolean;
}

export function validateSsid(ssid: string): void {
  const bytes = new TextEncoder().encode(ssid).length;
  if (bytes < 1 || bytes > 32) throw new WifiConfigError(`SSID must be 1-32 bytes (UTF-8), got ${bytes}`);
}

export function validatePassphrase(passphrase: string): void {
  if (/^[0-9a-fA-F]{64}$/.test(passphrase)) return;
  if (passphrase.length < 8 || passphrase.length > 63) {
    throw new WifiConfigError(`passphrase must be 8-63 printable ASCII characters or 64 hex digits, got ${passphrase.length} characters`);
  }
  if (!/^[\x20-\x7e]+$/.test(passphrase)) throw new WifiConfigError("passphrase must be printable ASCII (space to ~)");
}

export function validateCredentials(credentials: WifiCredentials): void {
  validateSsid(credentials.ssid);
  if (credentials.passphrase === undefined) {
    if (!credentials.allowOpen) throw new WifiConfigError("no passphrase given: open networks must be allowed explicitly");
  } else {
    validatePassphrase(credentials.passphrase);
  }
}

/**
 * The KIS.ME devices support WPA-PSK and WPA2-PSK (CCMP) only (integration guide, section 1).
 * Returns undefined when the network can be joined, else why not.
 */
export function unsupportedReason(mode: WifiAuthMode, credentials: WifiCredentials): string | undefined {
  switch (mode) {
    case "wpa-psk":
    case "wpa2-psk":
    case "wpa-wpa2-psk":
    case "wpa2-wpa3-psk": // transition mode: joined as WPA2-PSK
      return credentials.passphrase === undefined ? "the network needs a passphrase" : undefined;
    case "open":
      return credentials.allowOpen ? undefined : "open network (no security) refused; allow it explicitly to join";
    case "wep":
      return "WEP is not supported (insecure); use WPA2-PSK";
    case "wpa3-sae":
      return "WPA3-only networks are not supported; enable WPA2/WPA3 transition mode or WPA2-PSK";
    case "wpa2-enterprise":
    case "wpa3-enterprise":
      return "802.1X enterprise networks are not supported; use WPA2-PSK";
    case "unknown":
      return "the network's security is unknown";
  }
}

const KEY = "wifi";

function isConfigStore(store: KeyValueStore | ConfigStore): store is ConfigStore {
  return typeof (store as ConfigStore).update === "function";
}

/**
 * Wi-Fi credentials in device storage: the `wifi` section of the device configuration (ConfigStore), or — over
 * a bare KeyValueStore — the legacy record of its own (key "wifi", `{v:1,...}`), which ConfigStore imports.
 */
export class WifiCredentialStore {
  constructor(private readonly store: KeyValueStore | ConfigStore) {}

  /** The stored credentials, or undefined when none (or the record is unusable: reported by `problem`). */
  load(): { credentials?: WifiCredentials; problem?: string } {
    const store = this.store;
    if (isConfigStore(store)) {
      const credentials = store.config.wifi;
      return credentials ? { credentials } : {};
    }
    const raw = store.get(KEY);
    if (raw === undefined) return {};
    try {
      const record = JSON.parse(raw) as { v?: unknown; ssid?: unknown; passphrase?: unknown; allowOpen?: unknown; hidden?: unknown };
      if (record.v !== 1 || typeof record.ssid !== "string") throw new Error("unknown record format");
      const credentials: WifiCredentials = {
        ssid: record.ssid,
        ...(typeof record.passphrase === "string" ? { passphrase: record.passphrase } : {}),
        ...(record.allowOpen === true ? { allowOpen: true } : {}),
        ...(record.hidden === true ? { hidden: true } : {}),
      };
      validateCredentials(credentials);
      return { credentials };
    } catch (error) {
      return { problem: `stored Wi-Fi credentials unusable: ${error instanceof Error ? error.message : String(error)}` };
    }
  }

  save(credentials: WifiCredentials): void {
    validateCredentials(credentials);
    const store = this.store;
    if (isConfigStore(store)) store.update({ wifi: credentials });
    else store.set(KEY, toJson({ v: 1, ...credentials }));
  }

  clear(): void {
    const store = this.store;
    if (isConfigStore(store)) store.update({ wifi: null });
    else store.delete(KEY);
  }
}
