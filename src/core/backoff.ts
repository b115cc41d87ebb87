import type { Random } from "../ports/random";

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
    throw new RangeError(`${what}: need 0 < initialMs <= maxMs (finite) and multiplier >= 1, got ${JSON.stringify(options)}`);
  }
}

/**
 * Exponential backoff with full jitter (delay drawn uniformly from [0, ceiling)), so a fleet of
 * devices that lost the hub at the same moment does not come back in lock-step.
 */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly options: BackoffOptions,
    private readonly random: Random,
  ) {
    validateBackoff(options);
  }

  /** The ceiling for the next delay. */
  ceiling(): number {
    const { initialMs, maxMs, multiplier = 2 } = this.options;
    return Math.min(maxMs, initialMs * Math.pow(multiplier, this.attempt));
  }

  /** Delay before the next attempt; each call counts one failed attempt. */
  next(): number {
    const delay = Math.floor(this.random.next() * this.ceiling());
    this.attempt++;
    return delay;
  }

  reset(): void {
    this.attempt = 0;
  }

  get attempts(): number {
    return this.attempt;
  }
}
