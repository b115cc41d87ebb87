import type { Clock, TimerId } from "../ports/clock";
import type { Random } from "../ports/random";
import type { ScopedLogger } from "../ports/logger";
import { Backoff, type BackoffOptions } from "../core/backoff";
import { Listeners, errorMessage } from "../core/listeners";

export type LinkState = "stopped" | "connecting" | "connected" | "waiting";

export interface LinkStatus {
  readonly state: LinkState;
  /** Consecutive failed attempts since the last stable connection. */
  readonly failures: number;
  readonly lastError: string | undefined;
  /** Delay before the next attempt, when waiting. */
  readonly retryInMs: number | undefined;
}

/** What the supervisor keeps alive. `open` resolves once the link is fully usable. */
export interface Link {
  /** Connects and sets up; `onLost` must be called exactly once when the link later fails. */
  open(onLost: (reason: string) => void): Promise<{ close(): void }>;
}

export interface SupervisorOptions {
  readonly clock: Clock;
  readonly random: Random;
  readonly logger: ScopedLogger;
  readonly backoff: BackoffOptions;
  /** An attempt that has not completed by then is abandoned. */
  readonly attemptTimeoutMs: number;
  /**
   * A connection that lasted this long resets the backoff, and after its loss the first attempt is made at
   * once; shorter ones count as failures (flapping) and keep backing off.
   */
  readonly stableAfterMs: number;
  /** Optional precondition (e.g. a valid clock); while false, attempts wait. */
  readonly ready?: () => boolean;
}

/**
 * Keeps one link up: connect, and after any failure or loss wait (exponential backoff with full
 * jitter) and connect again, until stopped. The loss of a stable link is retried at once, without waiting.
 */
export class ConnectionSupervisor {
  private readonly backoff: Backoff;
  private readonly listeners: Listeners<LinkStatus>;
  private state: LinkState = "stopped";
  private lastError: string | undefined;
  private retryInMs: number | undefined;
  private timer: TimerId | undefined;
  private attempt = 0;
  private current: { close(): void } | undefined;
  private connectedAt = 0;

  constructor(
    private readonly link: Link,
    private readonly options: SupervisorOptions,
  ) {
    this.backoff = new Backoff(options.backoff, options.random);
    this.listeners = new Listeners<LinkStatus>((e) => options.logger.error("status listener failed", { error: errorMessage(e) }));
  }

  get status(): LinkStatus {
    return { state: this.state, failures: this.backoff.attempts, lastError: this.lastError, retryInMs: this.retryInMs };
  }

  onStatus(listener: (status: LinkStatus) => void): () => void {
    return this.listeners.add(listener);
  }

  start(): void {
    if (this.state !== "stopped") return;
    this.connect();
  }

  stop(): void {
    this.attempt++;
    this.clearTimer();
    const current = this.current;
    this.current = undefined;
    this.setState("stopped");
    current?.close();
  }

  /** Drops the current link (if any) and reconnects now, e.g. after the hub assignment changed. */
  restart(reason: string): void {
    if (this.state === "stopped") return;
    this.options.logger.info("reconnecting", { reason });
    const current = this.current;
    this.current = undefined;
    this.attempt++;
    this.clearTimer();
    current?.close();
    this.connect();
  }

  private setState(state: LinkState): void {
    this.state = state;
    if (state !== "waiting") this.retryInMs = undefined;
    this.listeners.emit(this.status);
  }

  private clearTimer(): void {
    if (this.timer !== undefined) this.options.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private connect(): void {
    if (this.options.ready && !this.options.ready()) {
      this.lastError = "not ready (waiting for a precondition such as a valid clock)";
      this.wait(Math.min(1000, this.options.backoff.initialMs), false);
      return;
    }
    const attempt = ++this.attempt;
    this.setState("connecting");
    let settled = false;
    const timeout = this.options.clock.setTimeout(() => {
      if (settled || attempt !== this.attempt) return;
      settled = true;
      this.fail(`attempt timed out after ${this.options.attemptTimeoutMs} ms`);
    }, this.options.attemptTimeoutMs);
    let lostEarly: string | undefined;
    const onLost = (reason: string): void => {
      if (!settled) {
        lostEarly = reason;
        return;
      }
      if (attempt !== this.attempt || this.state !== "connected") return;
      this.current = undefined;
      const lasted = this.options.clock.monotonic() - this.connectedAt;
      // A stable link is tried again at once (jitter from the second attempt); a flapping one keeps backing off.
      if (lasted >= this.options.stableAfterMs) this.backoff.resetImmediate();
      this.fail(`connection lost: ${reason}`);
    };
    this.link.open(onLost).then(
      (handle) => {
        this.options.clock.clearTimeout(timeout);
        if (settled || attempt !== this.attempt) {
          handle.close(); // abandoned (timed out or stopped) while connecting
          return;
        }
        settled = true;
        if (lostEarly !== undefined) {
          this.fail(`connection lost during setup: ${lostEarly}`);
          return;
        }
        this.current = handle;
        this.connectedAt = this.options.clock.monotonic();
        this.lastError = undefined;
        this.setState("connected");
      },
      (error: unknown) => {
        this.options.clock.clearTimeout(timeout);
        if (settled || attempt !== this.attempt) return;
        settled = true;
        this.fail(errorMessage(error));
      },
    );
  }

  private fail(reason: string): void {
    this.lastError = reason;
    this.options.logger.warn("link failed", { reason, failures: this.backoff.attempts + 1 });
    this.wait(this.backoff.next(), true);
  }

  private wait(delayMs: number, announce: boolean): void {
    this.clearTimer();
    this.retryInMs = delayMs;
    this.state = "waiting";
    // Arm before announcing: a listener may stop or restart the supervisor, which must cancel this timer.
    const attempt = this.attempt;
    this.timer = this.options.clock.setTimeout(() => {
      this.timer = undefined;
      if (this.state !== "waiting" || attempt !== this.attempt) return;
      this.connect();
    }, delayMs);
    if (announce) this.listeners.emit(this.status);
  }
}
