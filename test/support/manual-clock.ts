import type { Clock, TimerId } from "../../src/ports/clock";
import type { Random } from "../../src/ports/random";

interface Pending {
  id: TimerId;
  at: number;
  seq: number;
  callback: () => void;
}

/** Lets queued promise jobs run (setImmediate exists on Node and in xsnap). */
export function flush(): Promise<void> {
  const immediate = (globalThis as { setImmediate?: (cb: () => void) => void }).setImmediate;
  if (immediate) return new Promise((resolve) => immediate(resolve));
  let p = Promise.resolve();
  for (let i = 0; i < 50; i++) p = p.then(() => undefined);
  return p;
}

/** A clock that only moves when the test says so; timers fire in time order. */
export class ManualClock implements Clock {
  private time: number;
  private readonly origin: number;
  private nextId = 1;
  private seq = 0;
  private pending: Pending[] = [];

  constructor(epochMs = Date.UTC(2026, 10, 26, 12, 0, 0)) {
    this.time = epochMs;
    this.origin = epochMs;
  }

  now(): number {
    return this.time;
  }

  monotonic(): number {
    return this.time - this.origin;
  }

  setTimeout(callback: () => void, delayMs: number): TimerId {
    const id = this.nextId++;
    this.pending.push({ id, at: this.time + Math.max(0, delayMs), seq: this.seq++, callback });
    return id;
  }

  clearTimeout(id: TimerId): void {
    this.pending = this.pending.filter((p) => p.id !== id);
  }

  /** Number of timers still waiting. */
  get timerCount(): number {
    return this.pending.length;
  }

  /** Delay until the next timer, or undefined when none is pending. */
  nextDelay(): number | undefined {
    if (this.pending.length === 0) return undefined;
    return Math.min(...this.pending.map((p) => p.at)) - this.time;
  }

  /** Moves time forward by `ms`, firing due timers in order and letting promise jobs run after each. */
  async advance(ms: number): Promise<void> {
    const target = this.time + ms;
    await flush();
    for (;;) {
      let next: Pending | undefined;
      for (const p of this.pending) {
        if (p.at <= target && (!next || p.at < next.at || (p.at === next.at && p.seq < next.seq))) next = p;
      }
      if (!next) break;
      this.pending = this.pending.filter((p) => p !== next);
      this.time = next.at;
      next.callback();
      await flush();
    }
    this.time = target;
    await flush();
  }

  /** Advances to the next pending timer (if any) and fires it. */
  async runNext(): Promise<void> {
    const delay = this.nextDelay();
    if (delay !== undefined) await this.advance(delay);
  }
}

/** Deterministic PRNG (mulberry32) for reproducible jitter and choices. */
export class SeededRandom implements Random {
  private state: number;
  constructor(seed = 1) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
}

/** Returns the given values in turn (cycling), for tests that need exact random draws. */
export class SequenceRandom implements Random {
  private index = 0;
  constructor(private readonly values: readonly number[]) {}
  next(): number {
    const v = this.values[this.index % this.values.length]!;
    this.index++;
    return v;
  }
}
