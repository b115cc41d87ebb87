import type { KeyValueStore } from "../ports/storage";
import type { ScopedLogger } from "../ports/logger";
import type { Clock } from "../ports/clock";
import { SetupMode } from "./setup-mode";
import { errorMessage } from "../core/listeners";

/**
 * The running firmware cannot open the setup access point beside its station (on esp32 the legacy AP driver must
 * not meet the ECMA-419 station adapter), so "stored network not joined for 10 min" is a request left in the store
 * for the next boot, which runs setup mode before the station opens. One-shot: the boot that reads it deletes it
 * first, so a fault in setup mode is never a loop — the boot after it is a normal one.
 */
export const SETUP_REQUEST_KEY = "setup.req";

/** The reasons a running firmware can ask for setup mode at the next boot. */
export type SetupRequest = "not-joined";

export function requestSetupAtBoot(store: KeyValueStore, reason: SetupRequest): void {
  store.set(SETUP_REQUEST_KEY, reason);
}

/** Reads and deletes the request; anything but a known reason reads as none (and is deleted as well). */
export function takeSetupRequest(store: KeyValueStore): SetupRequest | undefined {
  let value: unknown;
  try {
    value = store.get(SETUP_REQUEST_KEY);
  } catch {
    value = undefined;
  }
  if (value === undefined) return undefined;
  store.delete(SETUP_REQUEST_KEY);
  return value === "not-joined" ? value : undefined;
}

/** What the watch needs of the station (WifiManager.onStatus). */
export interface StationStatusSource {
  onStatus(listener: (status: { readonly state: string }) => void): () => void;
}

export interface NotJoinedWatchOptions {
  readonly clock: Clock;
  readonly station: StationStatusSource;
  readonly store: KeyValueStore;
  /** The stored network not joined for this long (from start or the last loss of the link) asks for setup mode (ms). */
  readonly notJoinedMs: number;
  /** Restarts the device (orderly); the next boot takes the request. */
  readonly restart: (reason: string) => void;
  readonly logger?: ScopedLogger;
}

/**
 * Beside the running firmware: the not-joined rule of SetupMode (the same timer semantics) over the station's status;
 * when it fires, the request is stored and the device restarts into setup mode. The station keeps retrying until then.
 */
export class NotJoinedWatch {
  private readonly mode: SetupMode;
  private off: (() => void) | undefined;
  private fired = false;

  constructor(private readonly options: NotJoinedWatchOptions) {
    this.mode = new SetupMode({ clock: options.clock, notJoinedMs: options.notJoinedMs });
    this.mode.onChange((event) => {
      if (event.type !== "entered" || this.fired) return;
      this.fired = true;
      const minutes = Math.round(options.notJoinedMs / 6000) / 10;
      try {
        requestSetupAtBoot(options.store, "not-joined");
      } catch (error) {
        // Without the request the restart would only repeat the same 10 minutes: stay and keep retrying.
        options.logger?.error("stored network not joined, but the setup request was not stored; retrying on", { error: errorMessage(error) });
        return;
      }
      options.logger?.warn("stored network not joined: restarting into setup mode", { minutes });
      options.restart(`stored network not joined for ${minutes} min: setup mode`);
    });
  }

  start(): void {
    if (this.off) return;
    this.off = this.options.station.onStatus((s) => (s.state === "connected" ? this.mode.stationJoined() : this.mode.stationLost()));
    this.mode.start({ hasCredentials: true, gesture: false });
  }

  stop(): void {
    this.off?.();
    this.off = undefined;
    this.mode.stop();
  }
}
