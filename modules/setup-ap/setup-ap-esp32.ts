/**
 * The setup access point on esp32, over the SDK's legacy `wifi` module: the ECMA-419 Wi-Fi interface has no
 * access-point mode. `WiFi.accessPoint({station: true})` runs the radio as AP+station, so the setup page can scan
 * and try a join while phones are connected to `KISME-<id>`. Setup mode runs before the station adapter
 * (adapters/wifi-radio, ECMA-419) is opened, and the device restarts when it ends (`restartAfter`), so the two
 * modules never own the driver in the same boot.
 *
 * Limits of the legacy module, accepted for setup only (the normal boot's ECMA-419 scan applies the full policy):
 * its scan reports every security other than open/WEP/WPA/WPA2 as "wpa_wpa2_psk" (a WPA3-only or enterprise
 * network then looks selectable; the join fails, or the next boot's WifiManager refuses it and the device returns
 * to setup mode after the not-joined time); its connect retries the first association on its own.
 */
import WiFi from "wifi";
import Net from "net";
import Timer from "timer";
import { authModeFromSecurity } from "wifi/security-names";
import type { WifiEvent, WifiLinkInfo, WifiNetwork, WifiRadio } from "ports/wifi";
import type { Logger } from "ports/logger";


/** ESP-IDF's default address of the soft-AP interface (its DHCP server hands out 192.168.4.x). */
export const SETUP_AP_ADDRESS = "192.168.4.1";
export const SETUP_HTTP_PORT = 80;
/** The device restarts after setup mode (the legacy driver state must not meet the ECMA-419 station adapter). */
export const SETUP_RESTART_AFTER = true;
/** A captive DNS responder runs while the access point is up. */
export const SETUP_DNS = true;

interface LegacyScanItem {
  readonly ssid: string;
  readonly rssi: number;
  readonly channel: number;
  readonly authentication: string;
  readonly hidden?: boolean;
}

interface LegacyWiFi {
  close(): void;
}

interface LegacyWiFiClass {
  new (dictionary: { ssid: string; password?: string }, onNotify: (message: string, value?: number) => void): LegacyWiFi;
  accessPoint(dictionary: { ssid: string; password: string; channel?: number; station?: boolean; max?: number }): void;
  scan(dictionary: Record<string, never>, callback: (item: LegacyScanItem | null | undefined) => void): void;
  disconnect(): void;
  mode: number;
}

const LegacyWiFi = WiFi as unknown as LegacyWiFiClass;

export interface SetupAccessPoint {
  readonly address: string;
  readonly radio: WifiRadio;
  /** A phone joined or left the access point (setup mode's client activity). */
  onClient(listener: () => void): void;
  close(): void;
}

export function startSetupAccessPoint(options: { readonly ssid: string; readonly password: string; readonly logger?: Logger; readonly radio?: WifiRadio }): SetupAccessPoint {
  let clientListener: (() => void) | undefined;
  // The AP's own monitor: station_connect / station_disconnect of phones.
  const monitor = new LegacyWiFi({ ssid: "" }, (message) => {
    if (message === "station_connect" || message === "station_disconnect") clientListener?.();
  });
  LegacyWiFi.accessPoint({ ssid: options.ssid, password: options.password, channel: 1, station: true, max: 4 });
  const radio = new LegacyStationRadio(options.logger);
  return {
    address: SETUP_AP_ADDRESS,
    radio,
    onClient: (listener) => {
      clientListener = listener;
    },
    close: () => {
      radio.disconnect();
      monitor.close();
    },
  };
}

/** Scans and join attempts through the legacy module while the access point runs. */
class LegacyStationRadio implements WifiRadio {
  private station: LegacyWiFi | undefined;
  private attempt = 0;
  private ip: string | undefined;

  constructor(private readonly logger?: Logger) {}

  scan(): Promise<WifiNetwork[]> {
    return new Promise((resolve, reject) => {
      const found: WifiNetwork[] = [];
      const timeout = Timer.set(() => reject(new Error("scan timed out")), 15_000);
      try {
        LegacyWiFi.scan({}, (item) => {
          if (!item) {
            Timer.clear(timeout);
            resolve(found);
            return;
          }
          if (!item.hidden) found.push({ ssid: item.ssid, rssi: item.rssi, channel: item.channel, authMode: authModeFromSecurity(item.authentication) });
        });
      } catch (error) {
        Timer.clear(timeout);
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
  }

  connect(ssid: string, passphrase: string | undefined, onEvent: (event: WifiEvent) => void): void {
    this.disconnect();
    const attempt = ++this.attempt;
    const deliver = (event: WifiEvent) =>
      Promise.resolve().then(() => {
        if (attempt === this.attempt) onEvent(event);
      });
    this.station = new LegacyWiFi({ ssid, ...(passphrase !== undefined ? { password: passphrase } : {}) }, (message, value) => {
      if (message === "connect") void deliver({ type: "connected" });
      else if (message === "gotIP") {
        this.ip = String(Net.get("IP") ?? "");
        void deliver({ type: "got-ip", ip: this.ip });
      } else if (message === "disconnect") {
        this.ip = undefined;
        void deliver({ type: "disconnected", reason: value === -1 ? "authentication failed (password rejected)" : "association failed" });
      }
    });
    this.logger?.log("debug", "setup-ap", `joining "${ssid}" beside the access point`);
  }

  disconnect(): void {
    this.attempt++;
    this.ip = undefined;
    const station = this.station;
    this.station = undefined;
    if (!station) return;
    try {
      station.close();
      LegacyWiFi.disconnect();
    } catch {
      // nothing joined
    }
  }

  info(): WifiLinkInfo {
    return { rssi: undefined, channel: undefined, ip: this.ip };
  }
}
