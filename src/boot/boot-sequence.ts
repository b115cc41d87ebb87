import type { Clock, TimerId } from "../ports/clock";
import type { ScopedLogger } from "../ports/logger";
import type { LinkStatus } from "../azure/connection-supervisor";
import type { HubEndpoint } from "../azure/connection-options";
import { Listeners, errorMessage } from "../core/listeners";

export type BootPhase = "wifi" | "time" | "bootstrap" | "hub" | "online";

export interface BootError {
  readonly phase: BootPhase;
  readonly message: string;
  /** Clock.now() when it happened. */
  readonly at: number;
}

export interface BootStatus {
  readonly phase: BootPhase;
  readonly lastError: BootError | undefined;
  /** The hub in use, once bootstrap has run. */
  readonly hub: string | undefined;
  readonly assignmentSource: string | undefined;
}

/** The Wi-Fi station (WifiManager). It retries by itself; the sequence only waits for it. */
export interface NetworkStage {
  readonly connected: boolean;
  start(): void;
  onStatus(listener: (status: { readonly state: string; readonly lastError: string | undefined }) => void): () => void;
}

/** Time keeping (SNTP + SyncedClock). It retries by itself; the sequence only waits for a valid clock. */
export interface TimeStage {
  readonly valid: boolean;
  start(): void;
  onValid(listener: () => void): () => void;
  readonly lastError: string | undefined;
}

export interface Assignment {
  readonly hubHostName: string;
  readonly deviceId: string;
  readonly source: string;
  readonly error?: string;
}

/** Bootstrap: always answers (service, cache or compiled-in default). */
export interface AssignmentStage {
  resolve(deviceId: string): Promise<Assignment>;
}

/** The hub link (HubClient). */
export interface HubStage {
  readonly status: LinkStatus;
  reconfigure(endpoint: HubEndpoint, deviceId: string): void;
  start(): void;
  stop(): void;
  onStatus(listener: (status: LinkStatus) => void): () => void;
}

export interface BootOptions {
  readonly wifi: NetworkStage;
  readonly time: TimeStage;
  readonly bootstrap: AssignmentStage;
  readonly hub: HubStage;
  readonly clock: Clock;
  readonly logger: ScopedLogger;
  readonly deviceId: string;
  readonly hubPort: number;
  /** How long each phase may take before it counts as failed (and, for the hub, before bootstrap runs again). */
  readonly timeouts: { readonly wifi: number; readonly time: number; readonly bootstrap: number; readonly hub: number };
  /** Consecutive failed hub connections before the assignment is fetched again (it may have changed). */
  readonly hubFailuresBeforeBootstrap: number;
}

/**
 * Wi-Fi → time → bootstrap → hub, then online. A failure restarts the right phase: a lost Wi-Fi goes
 * back to Wi-Fi, repeated hub failures (or a hub that never comes up) go back to bootstrap. The clock is
 * valid before anything that uses TLS runs. Phase and last error are observable (status LED, diagnostics).
 */
export class BootSequence {
  private readonly listeners: Listeners<BootStatus>;
  private phase: BootPhase = "wifi";
  private lastError: BootError | undefined;
  private assignment: Assignment | undefined;
  private timer: TimerId | undefined;
  private entry = 0;
  private started = false;
  /** Hub failures already counted when the hub phase began (the supervisor keeps its backoff across phases). */
  private hubFailuresAtEntry = 0;

  constructor(private readonly options: BootOptions) {
    this.listeners = new Listeners<BootStatus>((e) => options.logger.error("boot status listener failed", { error: errorMessage(e) }));
  }

  get status(): BootStatus {
    return { phase: this.phase, lastError: this.lastError, hub: this.assignment?.hubHostName, assignmentSource: this.assignment?.source };
  }

  onStatus(listener: (status: BootStatus) => void): () => void {
    return this.listeners.add(listener);
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    const o = this.options;
    o.wifi.onStatus(() => {
      if (!this.started) return;
      if (!o.wifi.connected && this.phase !== "wifi") {
        this.fail("wifi", "Wi-Fi lost");
        o.hub.stop();
        this.enter("wifi");
      } else if (o.wifi.connected && this.phase === "wifi") {
        this.enter("time");
      }
    });
    o.time.onValid(() => {
      if (this.started && this.phase === "time") this.enter("bootstrap");
    });
    o.hub.onStatus((status) => this.started && this.onHubStatus(status));
    o.wifi.start();
    this.enter("wifi");
  }

  /** Stops reacting (the components are stopped by their owner). */
  stop(): void {
    this.started = false;
    this.entry++;
    this.clearTimer();
  }

  private enter(phase: BootPhase): void {
    const entry = ++this.entry;
    this.clearTimer();
    this.phase = phase;
    this.options.logger.info("boot phase", { phase });
    this.listeners.emit(this.status);
    const o = this.options;
    switch (phase) {
      case "wifi":
        if (o.wifi.connected) return this.enter("time");
        this.arm(entry, o.timeouts.wifi, () => this.fail("wifi", "no Wi-Fi connection yet"));
        return;
      case "time":
        if (o.time.valid) return this.enter(this.assignment ? "hub" : "bootstrap");
        o.time.start();
        this.arm(entry, o.timeouts.time, () => this.fail("time", `no valid time yet${o.time.lastError ? `: ${o.time.lastError}` : ""}`));
        return;
      case "bootstrap":
        this.runBootstrap(entry);
        return;
      case "hub":
        this.hubFailuresAtEntry = o.hub.status.failures;
        o.hub.start();
        if (o.hub.status.state === "connected") return this.enter("online");
        this.arm(entry, o.timeouts.hub, () => {
          this.fail("hub", `hub not reached within ${o.timeouts.hub} ms${o.hub.status.lastError ? `: ${o.hub.status.lastError}` : ""}`);
          o.hub.stop();
          this.enter("bootstrap");
        });
        return;
      case "online":
        return;
    }
  }

  private runBootstrap(entry: number): void {
    const o = this.options;
    let done = false;
    const finish = (assignment: Assignment | undefined, error?: string): void => {
      if (done || entry !== this.entry) return;
      done = true;
      if (error) this.fail("bootstrap", error);
      if (assignment) {
        this.assignment = assignment;
        if (assignment.error) this.fail("bootstrap", `${assignment.error} (using ${assignment.source}: ${assignment.hubHostName})`);
        try {
          o.hub.reconfigure({ host: assignment.hubHostName, port: o.hubPort }, assignment.deviceId);
        } catch (e) {
          this.fail("bootstrap", `unusable assignment: ${errorMessage(e)}`);
        }
      }
      this.enter(this.assignment ? "hub" : "bootstrap");
    };
    this.arm(entry, o.timeouts.bootstrap, () => finish(undefined, `bootstrap did not answer within ${o.timeouts.bootstrap} ms`));
    o.bootstrap.resolve(o.deviceId).then(
      (a) => finish(a),
      (e: unknown) => finish(undefined, errorMessage(e)),
    );
  }

  private onHubStatus(status: LinkStatus): void {
    const o = this.options;
    if (this.phase === "hub" && status.state === "connected") {
      this.enter("online");
    } else if (this.phase === "online" && status.state !== "connected" && status.state !== "stopped") {
      this.fail("hub", status.lastError ?? "hub connection lost");
      this.enter("hub");
      this.hubFailuresAtEntry = Math.max(0, status.failures - 1); // this loss counts
    } else if (this.phase === "hub" && status.state === "waiting" && status.failures - this.hubFailuresAtEntry >= o.hubFailuresBeforeBootstrap) {
      this.fail("hub", `${status.failures - this.hubFailuresAtEntry} failed hub connections (${status.lastError ?? "?"}); fetching the assignment again`);
      o.hub.stop();
      this.enter("bootstrap");
    }
  }

  private fail(phase: BootPhase, message: string): void {
    this.lastError = { phase, message, at: this.options.clock.now() };
    this.options.logger.warn("boot problem", { phase, message });
    this.listeners.emit(this.status);
  }

  private arm(entry: number, delayMs: number, onTimeout: () => void): void {
    this.timer = this.options.clock.setTimeout(() => {
      this.timer = undefined;
      if (entry === this.entry) onTimeout();
    }, delayMs);
  }

  private clearTimer(): void {
    if (this.timer !== undefined) this.options.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }
}
