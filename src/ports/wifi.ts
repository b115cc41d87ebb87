/** Security a network advertises (from a scan). */
export type WifiAuthMode = "open" | "wep" | "wpa-psk" | "wpa2-psk" | "wpa-wpa2-psk" | "wpa2-wpa3-psk" | "wpa3-sae" | "wpa2-enterprise" | "wpa3-enterprise" | "unknown";

export interface WifiNetwork {
  readonly ssid: string;
  readonly rssi: number;
  readonly channel: number;
  readonly authMode: WifiAuthMode;
}

export type WifiEvent =
  | { readonly type: "connected" }
  | { readonly type: "got-ip"; readonly ip: string }
  | { readonly type: "lost-ip" }
  | { readonly type: "disconnected"; readonly reason: string };

export interface WifiLinkInfo {
  readonly rssi: number | undefined;
  readonly channel: number | undefined;
  readonly ip: string | undefined;
}

/** The station interface of the radio (ESP32 Wi-Fi on the device, a simulation on the host). */
export interface WifiRadio {
  scan(): Promise<WifiNetwork[]>;
  /** Starts joining; progress arrives as events until `disconnect`. `passphrase` undefined for open networks. */
  connect(ssid: string, passphrase: string | undefined, onEvent: (event: WifiEvent) => void): void;
  disconnect(): void;
  info(): WifiLinkInfo;
}
