import type { Clock, TimerId } from "../ports/clock";
import type { ScopedLogger } from "../ports/logger";
import type { LinkStatus } from "../azure/connection-supervisor";
import type { HubEndpoint } from "../azure/connection-options";
import { Listeners, errorMessage } from "../core/listeners";
import { DEFAULT_ASSIGNMENT_POLICY, decideAtBoot, decideOnHubFailure, type AssignmentPolicyOptions, type CachedAssignment } from "../bootstrap/assignment-policy";

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
  /** The usable cached assignment, if any (absent: no cache-first start, bootstrap runs first on every boot). */
  cached?(deviceId: string): CachedAssignment | undefined;
  /**
   * A hub fixed for this run (a development run against one's own hub, no bootstrap service): the sequence goes
   * time → hub and never enters the bootstrap phase; hub failures are retried against this hub alone.
   */
  readonly configured?: Assignment;
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
  /** A cached assignment older than this is refreshed in the background once online (default 7 days). */
  readonly maxAssignmentAgeMs?: number;
  /** After a background refresh that failed, the next try (default 1 h; it runs once online). */
  readonly assignmentRetryMs?: number;
}

/**
 * Wi-Fi → time → bootstrap → hub, then online. A failure restarts the right phase: a lost Wi-Fi goes
 * back to Wi-Fi, repeated hub failures (or a hub that never comes up) go back to bootstrap. The clock is
 * valid before anything that uses TLS runs. Phase and last error are observable (status LED, diagnostics).
 *
 * Cache-first (src/bootstrap/assignment-policy.ts): with a usable cached assignment the bootstrap phase is
 * skipped (Wi-Fi → time → hub); a stale one is refreshed in the background once online, and a different hub
 * from that refresh is used from the next reconnect on. A hub that refuses the device (CONNACK 1/2/4/5) sends
 * the sequence to bootstrap at once (once per outage), other failures after `hubFailuresBeforeBootstrap`.
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
  private readonly policy: AssignmentPolicyOptions;
  /** Why the bootstrap phase is entered (logged when it runs). */
  private bootstrapReason = "";
  /** The service was asked since the hub was last reached (a refusal then waits for the failure count). */
  private askedSinceOnline = false;
  /** A background refresh is to run once online, and why. */
  private refreshDue: string | undefined;
  private refreshing = false;
  private refreshTimer: TimerId | undefined;
  /** A different hub from a background refresh: used from the next reconnect on. */
  private pendingSwitch: Assignment | undefined;
  /** Counts foreground bootstrap runs: a background answer that arrives after one is dropped. */
  private bootstrapRuns = 0;

  constructor(private readonly options: BootOptions) {
    this.listeners = new Listeners<BootStatus>((e) => options.logger.error("boot status listener failed", { error: errorMessage(e) }));
    this.policy = {
      maxAgeMs: options.maxAssignmentAgeMs ?? DEFAULT_ASSIGNMENT_POLICY.maxAgeMs,
      failuresBeforeBootstrap: options.hubFailuresBeforeBootstrap,
    };
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
      if (this.started && this.phase === "time") this.afterTime();
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
    if (this.refreshTimer !== undefined) this.options.clock.clearTimeout(this.refreshTimer);
    this.refreshTimer = undefined;
  }

  /** Time is valid: to the hub with the assignment in use, else decide between the cache and bootstrap. */
  private afterTime(): void {
    if (this.assignment) return this.enter("hub");
    const o = this.options;
    const configured = o.bootstrap.configured;
    if (configured) {
      o.hub.reconfigure({ host: configured.hubHostName, port: o.hubPort }, configured.deviceId);
      this.assignment = configured;
      o.logger.info("bootstrap skipped: the hub is configured", { hub: configured.hubHostName });
      return this.enter("hub");
    }
    let cached: CachedAssignment | undefined;
    try {
      cached = o.bootstrap.cached?.(o.deviceId);
    } catch (e) {
      o.logger.warn("cached hub assignment unreadable", { error: errorMessage(e) });
    }
    const decision = o.bootstrap.cached ? decideAtBoot(cached, o.clock.now(), this.policy) : { action: "bootstrap-first" as const, reason: "no assignment cache" };
    if (decision.action === "bootstrap-first" || !cached) {
      this.bootstrapReason = decision.reason;
      return this.enter("bootstrap");
    }
    const assignment: Assignment = { hubHostName: cached.hubHostName, deviceId: cached.deviceId, source: "cache" };
    try {
      o.hub.reconfigure({ host: assignment.hubHostName, port: o.hubPort }, assignment.deviceId);
    } catch (e) {
      this.fail("bootstrap", `unusable cached assignment: ${errorMessage(e)}`);
      this.bootstrapReason = "cached hub assignment unusable";
      return this.enter("bootstrap");
    }
    this.assignment = assignment;
    o.logger.info("bootstrap skipped: connecting to the cached hub", { hub: assignment.hubHostName, reason: decision.reason });
    if (decision.action === "use-cache-refresh") {
      this.refreshDue = decision.reason;
      o.logger.info("bootstrap to run in the background once online", { reason: decision.reason });
    }
    this.enter("hub");
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
        if (o.time.valid) return this.afterTime();
        o.time.start();
        this.arm(entry, o.timeouts.time, () => this.fail("time", `no valid time yet${o.time.lastError ? `: ${o.time.lastError}` : ""}`));
        return;
      case "bootstrap":
        this.runBootstrap(entry);
        return;
      case "hub":
        this.applyPendingSwitch();
        this.hubFailuresAtEntry = o.hub.status.failures;
        o.hub.start();
        if (o.hub.status.state === "connected") return this.enter("online");
        this.arm(entry, o.timeouts.hub, () => {
          this.fail("hub", `hub not reached within ${o.timeouts.hub} ms${o.hub.status.lastError ? `: ${o.hub.status.lastError}` : ""}`);
          if (o.bootstrap.configured) return this.enter("hub"); // no service to ask: the link keeps retrying this hub
          o.hub.stop();
          this.bootstrapReason = `hub not reached within ${o.timeouts.hub} ms`;
          this.enter("bootstrap");
        });
        return;
      case "online":
        this.askedSinceOnline = false;
        if (this.refreshDue !== undefined && !this.refreshing) this.refreshInBackground();
        return;
    }
  }

  private runBootstrap(entry: number): void {
    const o = this.options;
    let done = false;
    this.askedSinceOnline = true;
    this.bootstrapRuns++;
    this.pendingSwitch = undefined; // this answer supersedes a background one
    o.logger.info("asking the bootstrap service", { reason: this.bootstrapReason || "hub assignment needed" });
    const finish = (answer: Assignment | undefined, error?: string): void => {
      let assignment = answer;
      if (done || entry !== this.entry) return;
      done = true;
      if (error) this.fail("bootstrap", error);
      if (assignment && assignment.source !== "service" && this.assignment?.source === "cache" && assignment.hubHostName !== this.assignment.hubHostName) {
        // The service did not answer and its fallback is not the hub in use (the cached one): keep that one.
        o.logger.warn("bootstrap failed: keeping the cached hub", { hub: this.assignment.hubHostName, fallback: `${assignment.source}: ${assignment.hubHostName}` });
        assignment = { ...this.assignment, error: assignment.error ?? "bootstrap failed" };
      }
      if (assignment?.source === "service" && !assignment.error) this.scheduleRefresh(this.policy.maxAgeMs, "periodic refresh of the hub assignment");
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
    } else if (this.phase === "hub" && status.state === "waiting" && !o.bootstrap.configured) {
      const failures = status.failures - this.hubFailuresAtEntry;
      if (failures < 1) return;
      const decision = decideOnHubFailure({ failures, lastError: status.lastError, askedSinceOnline: this.askedSinceOnline }, this.policy);
      if (decision.action !== "bootstrap") return;
      this.fail("hub", `${decision.reason}; fetching the assignment again`);
      o.hub.stop();
      this.bootstrapReason = decision.reason;
      this.enter("bootstrap");
    }
  }

  /** Once online, with a stale cached assignment: asks the service without touching the working connection. */
  private refreshInBackground(): void {
    const o = this.options;
    const reason = this.refreshDue ?? "";
    this.refreshDue = undefined;
    this.refreshing = true;
    const runs = this.bootstrapRuns;
    o.logger.info("asking the bootstrap service in the background", { reason, hub: this.assignment?.hubHostName });
    const done = (assignment: Assignment | undefined, error?: string): void => {
      this.refreshing = false;
      if (!this.started) return;
      const current = this.assignment;
      if (this.phase === "bootstrap" || runs !== this.bootstrapRuns || !current) return; // a foreground bootstrap took over
      if (assignment && assignment.source === "service" && !assignment.error) {
        this.scheduleRefresh(this.policy.maxAgeMs, "periodic refresh of the hub assignment");
        if (assignment.hubHostName === current.hubHostName && assignment.deviceId === current.deviceId) {
          o.logger.info("hub assignment refreshed: unchanged", { hub: assignment.hubHostName });
          return;
        }
        this.pendingSwitch = assignment;
        o.logger.info("hub assignment refreshed: another hub, used from the next reconnect", { from: current.hubHostName, to: assignment.hubHostName });
        return;
      }
      const why = error ?? assignment?.error ?? `answer from ${assignment?.source ?? "?"}`;
      o.logger.warn("background bootstrap failed: keeping the cached hub", { hub: current.hubHostName, reason: why });
      this.scheduleRefresh(o.assignmentRetryMs ?? 3600_000, `retry after a failed background bootstrap (${why})`);
    };
    let answer: Promise<Assignment>;
    try {
      answer = o.bootstrap.resolve(o.deviceId);
    } catch (e) {
      answer = Promise.reject(e);
    }
    answer.then(
      (a) => done(a),
      (e: unknown) => done(undefined, errorMessage(e)),
    );
  }

  private scheduleRefresh(delayMs: number, reason: string): void {
    const clock = this.options.clock;
    if (this.refreshTimer !== undefined) clock.clearTimeout(this.refreshTimer);
    this.refreshTimer = clock.setTimeout(() => {
      this.refreshTimer = undefined;
      if (!this.started) return;
      this.refreshDue = reason;
      if (this.phase === "online" && !this.refreshing) this.refreshInBackground();
    }, delayMs);
  }

  /** Entering the hub phase (a reconnect): a hub from a background refresh is taken now. */
  private applyPendingSwitch(): void {
    const next = this.pendingSwitch;
    if (!next) return;
    this.pendingSwitch = undefined;
    const o = this.options;
    try {
      o.hub.reconfigure({ host: next.hubHostName, port: o.hubPort }, next.deviceId);
    } catch (e) {
      this.fail("bootstrap", `unusable refreshed assignment: ${errorMessage(e)}`);
      return;
    }
    o.logger.info("switching to the refreshed hub assignment", { from: this.assignment?.hubHostName, to: next.hubHostName });
    this.assignment = next;
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
