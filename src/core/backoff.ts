import type { Random } from "../ports/random";
import { toJson } from "./json";

export interface BackoffOptions {
  /** Ceiling of the first delay, ms. */
  readonly initialMs: number;
  /** Largest ceiling, ms. */
  readonly maxMs: number;
  /** Growth of the ceiling per attempt (default 2). */
  readonly multiplier?: number;
}

export function validateBackoff(options: BackoffOptions, what = "backoff"): void {
  const { initialMs, maxMs, multiplier = 2 } = options;
  if (!(initialMs > 0) || !(maxMs >= initialMs) || !(multiplier >= 1) || !Number.isFinite(maxMs)) {
    throw new RangeError(`${what}: need 0 < initialMs <= maxMs (finite) and multiplier >= 1, got ${toJson(options)}`);
  }
}

/**
 * Exponential backoff with full jitter (delay drawn uniformly from [0, ceiling)), so a fleet of
 * devices that lost the hub at the same moment does not come back in lock-step.
 */
export class Backoff {
  /** Failed attempts counted since the last reset. */
  private attempt = 0;
  /** Jittered delays drawn since the last reset: the exponent of the ceiling. */
  private drawn = 0;
  /** The next delay is 0 (see resetImmediate). */
  private immediate = false;

  constructor(
    private readonly options: BackoffOptions,
    private readonly random: Random,
  ) {
    validateBackoff(options);
  }

  /** The ceiling for the next delay. */
  ceiling(): number {
    const { initialMs, maxMs, multiplier = 2 } = this.options;
    return Math.min(maxMs, initialMs * Math.pow(multiplier, this.drawn));
  }

  /** Delay before the next attempt; each call counts one failed attempt. */
  next(): number {
    this.attempt++;
    if (this.immediate) {
      this.immediate = false;
      return 0;
    }
    const delay = Math.floor(this.random.next() * this.ceiling());
    this.drawn++;
    return delay;
  }

  reset(): void {
    this.attempt = 0;
    this.drawn = 0;
    this.immediate = false;
  }

  /**
   * Like reset, but the next delay is 0: one attempt at once (it still counts as a failed attempt),
   * then the jittered delays from the initial ceiling. For a link that had been stable: its drop is
   * likely a one-off. Devices that a hub outage dropped together do try once in lock-step; from their
   * second attempt on, the jitter spreads them out again.
   */
  resetImmediate(): void {
    this.reset();
    this.immediate = true;
  }

  get attempts(): number {
    return this.attempt;
  }
}
