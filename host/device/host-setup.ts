/**
 * Setup mode on the host: the portable SetupSession (src/setup) served by a Node HTTP listener on 127.0.0.1, the
 * host's stand-in for the device's setup access point. The simulated radio offers the networks below; the access
 * point's password is the device's own (`setup.pw` in its store, made once like `npm run provision` would).
 */
import type { KeyValueStore } from "../../src/ports/storage";
import type { Random } from "../../src/ports/random";
import type { HttpListener } from "../../src/ports/http-server";
import { SETUP_PASSWORD_KEY } from "../../src/device/credential-layout";
import { generateSetupPassword, isSetupPassword, setupSsid } from "../../src/setup/setup-password";
import { SetupSession, type SetupSessionOptions } from "../../src/setup/setup-session";
import type { SetupEnd, SetupReason } from "../../src/setup/setup-mode";
import type { SetupRequest } from "../../src/setup/setup-request";
import type { SimulatedNetwork } from "../adapters/simulated-wifi";
import { listenHttp } from "../adapters/node-http-server";
import { errorMessage } from "../../src/core/listeners";

/** What the simulated radio offers in setup: one WPA2 network to join, and one of each kind that cannot be. */
export function setupNetworks(wpa2: { readonly ssid: string; readonly passphrase: string }): SimulatedNetwork[] {
  return [
    { ssid: wpa2.ssid, authMode: "wpa2-psk", passphrase: wpa2.passphrase, rssi: -52, channel: 6 },
    { ssid: "Cafe-Offen", authMode: "open", rssi: -61, channel: 1 },
    { ssid: "Buero-WPA3", authMode: "wpa3-sae", passphrase: "nur-wpa3-geht-nicht", rssi: -67, channel: 11 },
    { ssid: "Altbau-WEP", authMode: "wep", passphrase: "12345", rssi: -78, channel: 3 },
  ];
}

/** The device's setup password from its store, made and kept there on first use (the factory's job on a device). */
export function hostSetupPassword(store: KeyValueStore, random: Random): string {
  const stored = store.get(SETUP_PASSWORD_KEY);
  if (stored !== undefined && isSetupPassword(stored)) return stored;
  const password = generateSetupPassword(random);
  store.set(SETUP_PASSWORD_KEY, password);
  return password;
}

export interface HostSetupReady {
  readonly url: string;
  readonly port: number;
  /** The simulated access point's name and password. */
  readonly ssid: string;
  readonly password: string;
  /** Why setup mode is on. */
  readonly reason: SetupReason;
}

/** What the session needs (see SetupSessionOptions), plus the store of the setup password and the page's port. */
export interface HostSetupOptions
  extends Pick<SetupSessionOptions, "clock" | "random" | "logger" | "radio" | "info" | "storedSsid" | "save" | "lingerMs" | "idleTimeoutMs" | "joinTimeoutMs"> {
  readonly store: KeyValueStore;
  readonly deviceId: string;
  /** Credentials are stored (setup mode on request): the idle timeout then returns to normal operation. */
  readonly hasCredentials?: boolean;
  /** Why the previous run asked for setup mode (src/setup/setup-request.ts). */
  readonly request?: SetupRequest;
  /** The loopback port of the setup page (default: a free one). */
  readonly port?: number;
}

/**
 * Runs setup mode for a device without credentials: listens, reports the page's address, and resolves when a join
 * was saved (then the listener closes and the caller boots the firmware on). `close()` ends it early.
 */
export class HostSetup {
  private listener: HttpListener | undefined;
  private session: SetupSession | undefined;
  private closed = false;

  constructor(private readonly options: HostSetupOptions) {}

  async run(onReady: (ready: HostSetupReady) => void): Promise<SetupEnd> {
    const o = this.options;
    const password = hostSetupPassword(o.store, o.random);
    const listener = await listenHttp((request) => (this.session ? this.session.handle(request) : Promise.reject(new Error("no session"))), {
      port: o.port ?? 0,
      onError: (error) => o.logger.log("error", "setup", "setup request failed", { error: errorMessage(error) }),
    });
    this.listener = listener;
    if (this.closed) {
      listener.close();
      throw new Error("setup closed");
    }
    const session = new SetupSession({
      clock: o.clock,
      random: o.random,
      logger: o.logger,
      radio: o.radio,
      info: o.info,
      storedSsid: o.storedSsid,
      save: o.save,
      hosts: [`127.0.0.1:${listener.port}`, `localhost:${listener.port}`],
      portalUrl: `http://127.0.0.1:${listener.port}/`,
      ...(o.lingerMs !== undefined ? { lingerMs: o.lingerMs } : {}),
      ...(o.idleTimeoutMs !== undefined ? { idleTimeoutMs: o.idleTimeoutMs } : {}),
      ...(o.joinTimeoutMs !== undefined ? { joinTimeoutMs: o.joinTimeoutMs } : {}),
    });
    this.session = session;
    const ended = session.ended();
    session.mode.start({ hasCredentials: o.hasCredentials === true, gesture: false, ...(o.request ? { request: o.request } : {}) });
    onReady({ url: `http://127.0.0.1:${listener.port}/`, port: listener.port, ssid: setupSsid(o.deviceId), password, reason: session.mode.active ?? "no-credentials" });
    try {
      return await ended;
    } finally {
      this.close();
    }
  }

  close(): void {
    this.closed = true;
    this.session?.stop();
    this.listener?.close();
    this.listener = undefined;
  }
}

const SETUP_BANNER_REASON: Record<SetupReason, string> = {
  "no-credentials": "no Wi-Fi credentials stored",
  "not-joined": "the stored network was not joined in time",
  gesture: "the setup gesture",
};

/** The lines `npm start -- --unprovisioned` prints when setup mode is on (README: Set up a device). */
export function setupBanner(ready: HostSetupReady, networks: readonly SimulatedNetwork[]): string[] {
  const kind = (n: SimulatedNetwork) =>
    n.authMode === "wpa2-psk" ? `WPA2, passphrase ${n.passphrase ?? ""}` : n.authMode === "open" ? "open" : n.authMode === "wpa3-sae" ? "WPA3 only" : n.authMode === "wep" ? "WEP" : n.authMode;
  return [
    `setup mode: ${SETUP_BANNER_REASON[ready.reason]}; the simulated access point ${ready.ssid} is up`,
    `setup page: ${ready.url}`,
    `setup password: ${ready.password}`,
    `simulated networks: ${networks.map((n) => `${n.ssid} (${kind(n)})`).join(", ")}`,
  ];
}
