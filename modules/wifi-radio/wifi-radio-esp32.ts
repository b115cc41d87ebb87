/**
 * WifiRadio port (src/ports/wifi.ts) on esp32, over the SDK's ECMA-419 station interface
 * `embedded:network/interface/wifi` (modules/io/wifi/esp32 in SDK 8.2.3). The portable WifiManager decides what
 * to join and when to retry; this adapter only moves the radio.
 *
 * Why the ECMA-419 interface and not the legacy `wifi` module (both exist in 8.2.3):
 * - Security in scan results. The legacy module reports `authentication` as "none", "wep", "wpa_psk",
 *   "wpa2_psk" and, for every other ESP-IDF auth mode, "wpa_wpa2_psk": WPA2-Enterprise, WPA3-only (SAE),
 *   WPA2/WPA3 transition, WAPI and OWE all look like a WPA/WPA2-PSK network the firmware may join. The ECMA-419
 *   interface reports ESP-IDF's modes 0..7 one by one (`security`) and "unknown" beyond, so the WifiManager's
 *   policy (WPA/WPA2-PSK only) sees what the access point really offers.
 * - One driver owner. On esp32 the SDK's io and net manifests already include the ECMA-419 interface (through
 *   examples/manifest_net.json; setup/network uses it). The legacy module keeps its own initialisation state and
 *   would create the default station netif a second time if the ECMA-419 one had started the radio first.
 * - No hidden retries: the legacy `WiFi.connect` retries the first association 5 times on its own; the ECMA-419
 *   `connect` makes one attempt and the WifiManager's backoff is in charge.
 * What is lost: a disconnect reason. The legacy module tells "password rejected" (-1) apart; the ECMA-419 one
 * only reports the connection state, so a failed attempt is "association or authentication failed". Neither
 * module reports a lost IP address on esp32 (no IP_EVENT_STA_LOST_IP handling); a dropped association is seen.
 *
 * ESP-IDF's wifi_auth_mode_t (esp_wifi_types_generic.h, IDF 5.x), for reference and `authModeFromEspIdf`:
 *   0 OPEN, 1 WEP, 2 WPA_PSK, 3 WPA2_PSK, 4 WPA_WPA2_PSK, 5 ENTERPRISE (= WPA2_ENTERPRISE), 6 WPA3_PSK,
 *   7 WPA2_WPA3_PSK, 8 WAPI_PSK, 9 OWE, 10 WPA3_ENT_192, 11 WPA3_EXT_PSK, 12 WPA3_EXT_PSK_MIXED_MODE, 13 DPP,
 *   14 WPA3_ENTERPRISE, 15 WPA2_WPA3_ENTERPRISE, 16 WPA_ENTERPRISE (IDF 5.5).
 * The ECMA-419 module turns 0..7 into "none", "wep", "wpa_psk", "wpa2_psk", "wpa_wpa2_psk", "wpa2_enterprise",
 * "wpa3_psk", "wpa2_wpa3_psk" and everything else into "unknown".
 *
 * Connection states of the interface: 200 disconnected, 300 connecting, 400 associated, 500 associated with an
 * IPv4 and an IPv6 link-local address. Events go to the WifiManager from promise jobs (fresh stack; nothing
 * thrown there reaches the host callback).
 */
import WiFi from "embedded:network/interface/wifi";
import Timer from "timer";
import Time from "time";
import type { WifiAuthMode, WifiEvent, WifiLinkInfo, WifiNetwork, WifiRadio } from "ports/wifi";
import { authModeFromSecurity } from "wifi/security-names";
import type { Logger } from "ports/logger";

// ---- the interface's real API (narrow local types: the SDK typings lack `channel` and `security`) -------------

interface ScanResult {
  readonly SSID: string;
  readonly BSSID?: string;
  readonly RSSI: number;
  readonly channel: number;
  readonly security?: string;
}

interface Station {
  scan(options: { onFound(result: ScanResult): void; onComplete(): void }): void;
  connect(options: { SSID: string; password?: string }): void;
  disconnect(): void;
  close(): void;
  readonly connection: number;
  readonly address: string | undefined;
  readonly RSSI: number | undefined;
  readonly channel: number | undefined;
}

const StationClass = WiFi as unknown as new (options: { onChanged?: (this: Station, property: string) => void }) => Station;

const DISCONNECTED = 200;
const CONNECTING = 300;
const ASSOCIATED = 400;
const ONLINE = 500;

/** A scan that has not completed by then has failed. */
const SCAN_TIMEOUT_MS = 15_000;
/** A drop to "disconnected" this soon after our own disconnect() belongs to the old association. */
const STALE_DISCONNECT_MS = 3000;

/** ESP-IDF's wifi_auth_mode_t numbers as WifiAuthMode (for a native scan; the SDK modules pass strings). */
export function authModeFromEspIdf(mode: number): WifiAuthMode {
  switch (mode) {
    case 0:
      return "open";
    case 1:
      return "wep";
    case 2:
      return "wpa-psk";
    case 3:
      return "wpa2-psk";
    case 4:
      return "wpa-wpa2-psk";
    case 5: // WIFI_AUTH_ENTERPRISE = WIFI_AUTH_WPA2_ENTERPRISE
    case 16: // WIFI_AUTH_WPA_ENTERPRISE
      return "wpa2-enterprise";
    case 6: // WPA3_PSK
    case 11: // WPA3_EXT_PSK
    case 12: // WPA3_EXT_PSK_MIXED_MODE
      return "wpa3-sae";
    case 7:
      return "wpa2-wpa3-psk";
    case 10: // WPA3_ENT_192
    case 14: // WPA3_ENTERPRISE
    case 15: // WPA2_WPA3_ENTERPRISE
      return "wpa3-enterprise";
    default: // 8 WAPI_PSK, 9 OWE, 13 DPP, anything newer
      return "unknown";
  }
}

export class PlatformWifiRadio implements WifiRadio {
  private station: Station | undefined;
  private onEvent: ((event: WifiEvent) => void) | undefined;
  /** The connection state last seen (or set by connect/disconnect). */
  private state = DISCONNECTED;
  private disconnectedAt: number | undefined;
  private scanning = false;

  constructor(private readonly logger?: Logger) {}

  scan(): Promise<WifiNetwork[]> {
    if (this.scanning) return Promise.reject(new Error("a scan is already running"));
    return new Promise<WifiNetwork[]>((resolve, reject) => {
      const found: WifiNetwork[] = [];
      let done = false;
      const finish = (error?: Error): void => {
        if (done) return;
        done = true;
        this.scanning = false;
        Timer.clear(timer);
        if (error) reject(error);
        else resolve(found);
      };
      const timer = Timer.set(() => finish(new Error(`the scan did not complete within ${SCAN_TIMEOUT_MS} ms`)), SCAN_TIMEOUT_MS);
      this.scanning = true;
      try {
        this.radio().scan({
          onFound: (result) => {
            try {
              if (!done && typeof result.SSID === "string" && result.SSID.length > 0) {
                found.push({ ssid: result.SSID, rssi: result.RSSI, channel: result.channel, authMode: authModeFromSecurity(result.security) });
              }
            } catch {
              // one odd record never fails the scan
            }
          },
          // From a promise job: the results are delivered inside the SDK's host callback.
          onComplete: () => void Promise.resolve().then(() => finish()),
        });
      } catch (error) {
        finish(new Error(`scan failed: ${message(error)}`));
      }
    });
  }

  connect(ssid: string, passphrase: string | undefined, onEvent: (event: WifiEvent) => void): void {
    this.onEvent = onEvent;
    try {
      const station = this.radio();
      if (station.connection !== DISCONNECTED) this.disconnect();
      station.connect(passphrase === undefined ? { SSID: ssid } : { SSID: ssid, password: passphrase });
      this.state = CONNECTING;
      this.log("debug", "joining", { ssid });
    } catch (error) {
      this.state = DISCONNECTED;
      this.emit({ type: "disconnected", reason: `connect failed: ${message(error)}` });
    }
  }

  disconnect(): void {
    const station = this.station;
    if (!station) return;
    try {
      if (this.state !== DISCONNECTED || station.connection !== DISCONNECTED) {
        this.disconnectedAt = Time.ticks;
        station.disconnect();
      }
    } catch (error) {
      this.log("warn", "disconnect failed", { error: message(error) });
    }
    this.state = DISCONNECTED;
  }

  info(): WifiLinkInfo {
    const station = this.station;
    if (!station) return { rssi: undefined, channel: undefined, ip: undefined };
    try {
      const online = station.connection === ONLINE;
      return { rssi: station.RSSI, channel: station.channel, ip: online ? station.address : undefined };
    } catch {
      return { rssi: undefined, channel: undefined, ip: undefined };
    }
  }

  /** The station interface, created on first use (creating it starts the radio). */
  private radio(): Station {
    if (!this.station) {
      const radio = this;
      this.station = new StationClass({
        onChanged(property: string) {
          radio.onChanged(this, property);
        },
      });
      this.state = this.station.connection;
    }
    return this.station;
  }

  /** The interface's host callback. Never throws. */
  private onChanged(station: Station, property: string): void {
    try {
      const now = station.connection;
      const was = this.state;
      if (property === "address" && now === ONLINE) {
        this.emit({ type: "got-ip", ip: station.address ?? "" }); // a new address
        return;
      }
      if (now === was) return;
      if (now === DISCONNECTED && was === CONNECTING && this.disconnectedAt !== undefined && Time.delta(this.disconnectedAt, Time.ticks) < STALE_DISCONNECT_MS) {
        // The end of the association we left in connect(), arriving after the new attempt began.
        this.disconnectedAt = undefined;
        this.log("debug", "ignoring the previous association's disconnect");
        return;
      }
      this.state = now;
      if (now >= ASSOCIATED && was < ASSOCIATED) this.emit({ type: "connected" });
      if (now === ONLINE) this.emit({ type: "got-ip", ip: station.address ?? "" });
      else if (now === ASSOCIATED && was === ONLINE) this.emit({ type: "lost-ip" });
      else if (now === DISCONNECTED) {
        this.emit({
          type: "disconnected",
          reason: was >= ASSOCIATED ? "connection to the access point lost" : "association or authentication failed (access point not found or refused, or wrong passphrase)",
        });
      }
    } catch (error) {
      this.log("warn", "Wi-Fi event handling failed", { error: message(error) });
    }
  }

  private emit(event: WifiEvent): void {
    const listener = this.onEvent;
    if (!listener) return;
    Promise.resolve().then(() => {
      try {
        listener(event);
      } catch (error) {
        this.log("warn", "Wi-Fi event listener failed", { event: event.type, error: message(error) });
      }
    });
  }

  private log(level: "debug" | "warn", text: string, fields?: Record<string, string | number | undefined>): void {
    try {
      this.logger?.log(level, "radio", text, fields);
    } catch {
      // logging never breaks the radio
    }
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message || error.name : String(error);
}
