import type { Clock, TimerId } from "../ports/clock";
import type { KeyValueStore } from "../ports/storage";
import type { Random } from "../ports/random";
import type { ScopedLogger } from "../ports/logger";
import type { WifiEvent, WifiRadio } from "../ports/wifi";
import { Backoff, type BackoffOptions } from "../core/backoff";
import { Listeners, errorMessage } from "../core/listeners";
import type { ConfigStore } from "../storage/config-store";
import { WifiCredentialStore, unsupportedReason, validateCredentials, type WifiCredentials } from "./wifi-credentials";

export type WifiState = "stopped" | "unconfigured" | "scanning" | "joining" | "connected" | "waiting";

export interface WifiStatus {
  readonly state: WifiState;
  readonly ssid: string | undefined;
  readonly ip: string | undefined;
  readonly rssi: number | undefined;
  readonly channel: number | undefined;
  /** Why the last attempt failed (kept after recovery for diagnostics). */
  readonly lastError: string | undefined;
  /** Consecutive failed attempts. */
  readonly failures: number;
}

export interface WifiManagerOptions {
  readonly radio: WifiRadio;
  readonly store: KeyValueStore;
  /** The device configuration: credentials live in its `wifi` section (else in the legacy record in `store`). */
  readonly config?: ConfigStore;
  readonly clock: Clock;
  readonly random: Random;
  readonly logger: ScopedLogger;
  /** Between failed attempts (full jitter). */
  readonly backoff: BackoffOptions;
  /** An attempt that has no IP address by then has failed. */
  readonly joinTimeoutMs: number;
}

/**
 * The station side of Wi-Fi: joins the stored network if its security is supported (WPA/WPA2-PSK),
 * recovers from disconnects and lost addresses with backoff, and reports status for diagnostics.
 */
export class WifiManager {
  private readonly credentialStore: WifiCredentialStore;
  private readonly backoff: Backoff;
  private readonly listeners: Listeners<WifiStatus>;
  private credentials: WifiCredentials | undefined;
  private state: WifiState = "stopped";
  private ip: string | undefined;
  private lastError: string | undefined;
  private timer: TimerId | undefined;
  private attempt = 0;

  constructor(private readonly options: WifiManagerOptions) {
    this.credentialStore = new WifiCredentialStore(options.config ?? options.store);
    this.backoff = new Backoff(options.backoff, options.random);
    this.listeners = new Listeners<WifiStatus>((e) => options.logger.error("status listener failed", { error: errorMessage(e) }));
  }

  get status(): WifiStatus {
    const info = this.state === "connected" ? this.options.radio.info() : undefined;
    return {
      state: this.state,
      ssid: this.credentials?.ssid,
      ip: this.ip,
      rssi: info?.rssi,
      channel: info?.channel,
      lastError: this.lastError,
      failures: this.backoff.attempts,
    };
  }

  get connected(): boolean {
    return this.state === "connected";
  }

  onStatus(listener: (status: WifiStatus) => void): () => void {
    return this.listeners.add(listener);
  }

  /** Loads the stored credentials and starts joining. */
  start(): void {
    if (this.state !== "stopped") return;
    const { credentials, problem } = this.credentialStore.load();
    if (problem) {
      this.lastError = problem;
      this.options.logger.error(problem);
    }
    this.credentials = credentials;
    this.join();
  }

  stop(): void {
    this.attempt++;
    this.clearTimer();
    this.options.radio.disconnect();
    this.ip = undefined;
    this.set("stopped");
  }

  /** Validates (throws WifiConfigError with the reason), stores and joins the new network. */
  setCredentials(credentials: WifiCredentials): void {
    validateCredentials(credentials);
    this.credentialStore.save(credentials);
    this.credentials = credentials;
    this.backoff.reset();
    this.lastError = undefined;
    if (this.state !== "stopped") {
      this.attempt++;
      this.clearTimer();
      this.options.radio.disconnect();
      this.join();
    }
  }

  private set(state: WifiState): void {
    this.state = state;
    this.listeners.emit(this.status);
  }

  private clearTimer(): void {
    if (this.timer !== undefined) this.options.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private join(): void {
    const credentials = this.credentials;
    if (!credentials) {
      this.set("unconfigured");
      return;
    }
    const attempt = ++this.attempt;
    this.ip = undefined;
    if (credentials.hidden) {
      this.connect(credentials, attempt);
      return;
    }
    this.set("scanning");
    this.options.radio.scan().then(
      (networks) => {
        if (attempt !== this.attempt) return;
        const matches = networks.filter((n) => n.ssid === credentials.ssid).sort((a, b) => b.rssi - a.rssi);
        const best = matches[0];
        if (!best) return this.fail(`network "${credentials.ssid}" not found`);
        const refused = unsupportedReason(best.authMode, credentials);
        if (refused) return this.fail(refused);
        this.connect(credentials, attempt);
      },
      (error: unknown) => attempt === this.attempt && this.fail(`scan failed: ${errorMessage(error)}`),
    );
  }

  private connect(credentials: WifiCredentials, attempt: number): void {
    this.set("joining");
    this.timer = this.options.clock.setTimeout(() => {
      this.timer = undefined;
      if (attempt !== this.attempt) return;
      this.options.radio.disconnect();
      this.fail(`no IP address within ${this.options.joinTimeoutMs} ms`);
    }, this.options.joinTimeoutMs);
    this.options.radio.connect(credentials.ssid, credentials.passphrase, (event) => this.onEvent(event, attempt));
  }

  private onEvent(event: WifiEvent, attempt: number): void {
    if (attempt !== this.attempt) return;
    switch (event.type) {
      case "connected":
        return;
      case "got-ip":
        this.clearTimer();
        this.ip = event.ip;
        this.backoff.reset();
        this.options.logger.info("Wi-Fi connected", { ssid: this.credentials?.ssid, ip: event.ip });
        this.set("connected");
        return;
      case "lost-ip":
        this.options.radio.disconnect();
        this.fail("lost the IP address");
        return;
      case "disconnected":
        this.fail(`disconnected: ${event.reason}`);
        return;
    }
  }

  private fail(reason: string): void {
    this.attempt++;
    this.clearTimer();
    this.ip = undefined;
    this.lastError = reason;
    const delay = this.backoff.next();
    this.options.logger.warn("Wi-Fi attempt failed", { reason, retryInMs: delay });
    this.set("waiting");
    this.timer = this.options.clock.setTimeout(() => {
      this.timer = undefined;
      this.join();
    }, delay);
  }
}
