/**
 * The setup "access point" of the simulator builds (lin, mac, win): mcsim has no radio, so there is no access point
 * and no DNS; the setup page is served on 127.0.0.1 (config.setupPort) and the simulated radio (adapters/wifi-radio:
 * KISME-SIM and one network of each kind setup refuses) is the one the firmware uses afterwards, in the same boot.
 */
import type { WifiRadio } from "ports/wifi";
import type { Logger } from "ports/logger";
import { PlatformWifiRadio } from "adapters/wifi-radio";

export const SETUP_AP_ADDRESS = "127.0.0.1";
/** 0: config.setupPort decides. */
export const SETUP_HTTP_PORT = 0;
export const SETUP_RESTART_AFTER = false;
export const SETUP_DNS = false;

export interface SetupAccessPoint {
  readonly address: string;
  readonly radio: WifiRadio;
  onClient(listener: () => void): void;
  close(): void;
}

export function startSetupAccessPoint(options: { readonly ssid: string; readonly password: string; readonly logger?: Logger; readonly radio?: WifiRadio }): SetupAccessPoint {
  options.logger?.log("info", "setup-ap", `simulator: no access point (${options.ssid} would be up); the setup page is on loopback`);
  return { address: SETUP_AP_ADDRESS, radio: options.radio ?? new PlatformWifiRadio(options.logger), onClient: () => undefined, close: () => undefined };
}
