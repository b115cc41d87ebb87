/**
 * Time and timers. Everything in the core that waits or measures goes through this
 * port, so logic is deterministic under test and runs on XS (which has no setTimeout).
 */
export type TimerId = number;

export interface Clock {
  /** Wall-clock time in ms since the Unix epoch. Meaningful only once the clock is valid (SNTP). */
  now(): number;
  /** Monotonic ms since an arbitrary origin; use for durations and timeouts. */
  monotonic(): number;
  /** Calls `callback` once after `delayMs`. */
  setTimeout(callback: () => void, delayMs: number): TimerId;
  /** Cancels a pending timer; unknown or fired ids are ignored. */
  clearTimeout(id: TimerId): void;
}
