import type { Clock } from "../../src/ports/clock";
import type { WifiAuthMode, WifiEvent, WifiLinkInfo, WifiNetwork, WifiRadio } from "../../src/ports/wifi";

export interface SimulatedNetwork {
  readonly ssid: string;
  readonly authMode: WifiAuthMode;
  readonly passphrase?: string;
  readonly rssi?: number;
  readonly channel?: number;
  /** Not in scan results (hidden SSID). */
  readonly hidden?: boolean;
}

/**
 * The radio of the host simulation (and of the Wi-Fi unit tests): an access point list the caller
 * controls, DHCP that answers after `dhcpMs`, and switches to take the network away.
 * Written without Node APIs (time through the Clock port) so it also runs inside XS.
 */
export class SimulatedWifiRadio implements WifiRadio {
  private networks: SimulatedNetwork[];
  private joined: { network: SimulatedNetwork; onEvent: (e: WifiEvent) => void } | undefined;
  private connecting = 0;
  /** When false, association never completes (an access point that ignores us). */
  reachable = true;
  /** When false, DHCP never answers. */
  dhcpAnswers = true;
  scans = 0;
  joins: string[] = [];

  constructor(
    private readonly clock: Clock,
    networks: readonly SimulatedNetwork[],
    private readonly dhcpMs = 50,
    private readonly ip = "192.0.2.10",
  ) {
    this.networks = [...networks];
  }

  setNetworks(networks: readonly SimulatedNetwork[]): void {
    this.networks = [...networks];
  }

  scan(): Promise<WifiNetwork[]> {
    this.scans++;
    return Promise.resolve(
      this.networks.filter((n) => !n.hidden).map((n) => ({ ssid: n.ssid, authMode: n.authMode, rssi: n.rssi ?? -55, channel: n.channel ?? 6 })),
    );
  }

  connect(ssid: string, passphrase: string | undefined, onEvent: (event: WifiEvent) => void): void {
    this.joins.push(ssid);
    const attempt = ++this.connecting;
    const network = this.networks.find((n) => n.ssid === ssid);
    this.clock.setTimeout(() => {
      if (attempt !== this.connecting || !this.reachable) return;
      if (!network) return onEvent({ type: "disconnected", reason: "no access point found" });
      if (network.authMode !== "open" && network.passphrase !== passphrase) return onEvent({ type: "disconnected", reason: "authentication failed" });
      this.joined = { network, onEvent };
      onEvent({ type: "connected" });
      this.clock.setTimeout(() => {
        if (attempt === this.connecting && this.dhcpAnswers) onEvent({ type: "got-ip", ip: this.ip });
      }, this.dhcpMs);
    }, 10);
  }

  disconnect(): void {
    this.connecting++;
    this.joined = undefined;
  }

  info(): WifiLinkInfo {
    const n = this.joined?.network;
    return { rssi: n ? (n.rssi ?? -55) : undefined, channel: n ? (n.channel ?? 6) : undefined, ip: n ? this.ip : undefined };
  }

  /** The access point goes away. */
  dropLink(reason = "beacon timeout"): void {
    const joined = this.joined;
    this.joined = undefined;
    this.connecting++;
    joined?.onEvent({ type: "disconnected", reason });
  }

  /** DHCP lease lost while associated. */
  loseIp(): void {
    this.joined?.onEvent({ type: "lost-ip" });
  }
}
