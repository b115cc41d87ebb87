/**
 * WifiRadio port for the simulator builds (lin, mac, win). mcsim has no radio (the SDK's simulator `wifi` module
 * only plays a canned script), so this one is a stand-in: it reports one access point, "KISME-SIM" (WPA2-PSK,
 * passphrase "kisme-simulated-wlan", the same network the Node host simulation uses), joins it at once and
 * "gets" the host's connectivity (IP 127.0.0.1). Everything above it — the WifiManager's policy, stored
 * credentials, the boot sequence waiting for Wi-Fi — runs as on the device.
 *
 * The scan also lists one network of each kind the firmware refuses (open, WPA3-only, WEP), as the Node host
 * simulation's setup mode does, so the setup page in mcsim shows them as unsupported. Joining any of them, or a
 * different SSID, is "not found"; a wrong passphrase fails the association
 * ("authentication failed"), so the failure paths can be tried in mcsim too. Events are delivered from timers,
 * as a real radio's would be, never from inside `connect`.
 */
import Timer from "timer";
import type { WifiAuthMode, WifiEvent, WifiLinkInfo, WifiNetwork, WifiRadio } from "ports/wifi";
import type { Logger } from "ports/logger";

export const SIMULATED_SSID = "KISME-SIM";
export const SIMULATED_PASSPHRASE = "kisme-simulated-wlan";
const SIMULATED_AUTH: WifiAuthMode = "wpa2-psk";
const SIMULATED_RSSI = -52;
const SIMULATED_CHANNEL = 6;
const SIMULATED_IP = "127.0.0.1";
const REFUSED_NETWORKS: readonly WifiNetwork[] = [
  { ssid: "Cafe-Offen", rssi: -61, channel: 1, authMode: "open" },
  { ssid: "Buero-WPA3", rssi: -67, channel: 11, authMode: "wpa3-sae" },
  { ssid: "Altbau-WEP", rssi: -78, channel: 3, authMode: "wep" },
];

export class PlatformWifiRadio implements WifiRadio {
  private attempt = 0;
  private joined = false;

  constructor(private readonly logger?: Logger) {}

  scan(): Promise<WifiNetwork[]> {
    return new Promise((resolve) => {
      Timer.set(() => resolve([{ ssid: SIMULATED_SSID, rssi: SIMULATED_RSSI, channel: SIMULATED_CHANNEL, authMode: SIMULATED_AUTH }, ...REFUSED_NETWORKS]), 10);
    });
  }

  connect(ssid: string, passphrase: string | undefined, onEvent: (event: WifiEvent) => void): void {
    const attempt = ++this.attempt;
    this.joined = false;
    this.log(`joining "${ssid}" (simulated radio)`);
    const deliver = (event: WifiEvent, delayMs: number, then?: () => void): void => {
      Timer.set(() => {
        if (attempt !== this.attempt) return;
        then?.();
        try {
          onEvent(event);
        } catch (error) {
          this.log(`Wi-Fi event listener failed: ${error instanceof Error ? error.message : String(error)}`);
        }
      }, delayMs);
    };
    if (ssid !== SIMULATED_SSID) return deliver({ type: "disconnected", reason: "no access point found" }, 10);
    if (passphrase !== SIMULATED_PASSPHRASE) return deliver({ type: "disconnected", reason: "authentication failed" }, 10);
    deliver({ type: "connected" }, 10, () => {
      this.joined = true;
    });
    deliver({ type: "got-ip", ip: SIMULATED_IP }, 20);
  }

  disconnect(): void {
    this.attempt++;
    this.joined = false;
  }

  info(): WifiLinkInfo {
    return this.joined ? { rssi: SIMULATED_RSSI, channel: SIMULATED_CHANNEL, ip: SIMULATED_IP } : { rssi: undefined, channel: undefined, ip: undefined };
  }

  private log(text: string): void {
    try {
      this.logger?.log("debug", "radio", text);
    } catch {
      // logging never breaks the radio
    }
  }
}
