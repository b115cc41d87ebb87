import type { Clock, TimerId } from "../ports/clock";
import type { Random } from "../ports/random";
import type { Logger } from "../ports/logger";
import { scoped } from "../ports/logger";
import type { HttpRequest, HttpResponse } from "../ports/http-server";
import type { WifiRadio } from "../ports/wifi";
import type { WifiCredentials } from "../wifi/wifi-credentials";
import { SetupApi, type SetupDeviceInfo } from "./setup-api";
import { joinOnce } from "./setup-join";
import { SetupMode, type SetupEnd, type SetupModeEvent } from "./setup-mode";
import { toJson } from "../core/json";

export interface SetupSessionOptions {
  readonly clock: Clock;
  readonly random: Random;
  readonly logger: Logger;
  /** The station interface: scans and join attempts (the access point is the adapter's). */
  readonly radio: WifiRadio;
  readonly info: () => SetupDeviceInfo;
  readonly storedSsid: () => string | undefined;
  /** Saves joined credentials through the configuration the firmware reads (e.g. WifiManager.setCredentials). */
  readonly save: (credentials: WifiCredentials) => void;
  /** One join attempt without an address by then has failed (default 30 s). */
  readonly joinTimeoutMs?: number;
  /** After a successful join the page gets this long to show it before setup mode ends (default 5 s). */
  readonly lingerMs?: number;
  readonly notJoinedMs?: number;
  readonly idleTimeoutMs?: number;
  readonly hosts?: readonly string[];
  readonly portalUrl?: string;
}

/**
 * Setup mode with its API, assembled the same way on every platform: SetupMode decides, each time it turns on a
 * new SetupApi (a new session token) answers requests, joins go through joinOnce over the radio, and a saved join
 * ends setup mode after `lingerMs`. The composition roots add the access point, the DNS responder and the HTTP
 * listener, following `onChange`.
 */
export class SetupSession {
  readonly mode: SetupMode;
  private api: SetupApi | undefined;
  private linger: TimerId | undefined;

  constructor(private readonly options: SetupSessionOptions) {
    this.mode = new SetupMode({
      clock: options.clock,
      logger: scoped(options.logger, "setup"),
      ...(options.notJoinedMs !== undefined ? { notJoinedMs: options.notJoinedMs } : {}),
      ...(options.idleTimeoutMs !== undefined ? { idleTimeoutMs: options.idleTimeoutMs } : {}),
    });
    this.mode.onChange((event) => {
      if (event.type === "entered") this.api = this.newApi();
      else this.api = undefined;
    });
  }

  /** The API of the current session (undefined while setup mode is off). */
  get current(): SetupApi | undefined {
    return this.api;
  }

  onChange(listener: (event: SetupModeEvent) => void): () => void {
    return this.mode.onChange(listener);
  }

  /** Resolves when setup mode next ends. */
  ended(): Promise<SetupEnd> {
    return new Promise((resolve) => {
      const off = this.mode.onChange((event) => {
        if (event.type !== "ended") return;
        off();
        resolve(event.end);
      });
    });
  }

  /** The HTTP handler (503 while setup mode is off). */
  readonly handle = (request: HttpRequest): Promise<HttpResponse> => {
    const api = this.api;
    if (!api) return Promise.resolve({ status: 503, headers: { "content-type": "application/json" }, body: toJson({ error: "setup mode is off" }) });
    return api.handle(request);
  };

  stop(): void {
    if (this.linger !== undefined) this.options.clock.clearTimeout(this.linger);
    this.linger = undefined;
    this.mode.stop();
  }

  private newApi(): SetupApi {
    const o = this.options;
    return new SetupApi({
      clock: o.clock,
      random: o.random,
      logger: scoped(o.logger, "setup"),
      info: o.info,
      storedSsid: o.storedSsid,
      scan: () => o.radio.scan(),
      join: (ssid, passphrase) => joinOnce(o.radio, o.clock, ssid, passphrase, o.joinTimeoutMs ?? 30_000),
      save: o.save,
      onActivity: () => this.mode.clientSeen(),
      onJoined: () => {
        if (this.linger !== undefined) return;
        this.linger = o.clock.setTimeout(() => {
          this.linger = undefined;
          this.mode.completed();
        }, o.lingerMs ?? 5000);
      },
      ...(o.hosts ? { hosts: o.hosts } : {}),
      ...(o.portalUrl !== undefined ? { portalUrl: o.portalUrl } : {}),
    });
  }
}
