import type { Clock, TimerId } from "../ports/clock";

export class RequestTimeoutError extends Error {
  override readonly name = "RequestTimeoutError";
  constructor(what: string, ms: number) {
    super(`${what}: no response within ${ms} ms`);
  }
}

interface PendingRequest<T> {
  resolve(value: T): void;
  reject(error: Error): void;
  timer: TimerId;
}

/**
 * Correlates requests and responses by `$rid`. Ids are never reused within a run, so a late
 * reply to a timed-out or abandoned request can never complete a newer one.
 */
export class RequestTracker<T> {
  private nextId = 1;
  private readonly pending = new Map<string, PendingRequest<T>>();

  constructor(
    private readonly clock: Clock,
    private readonly what: string,
  ) {}

  create(timeoutMs: number): { rid: string; response: Promise<T> } {
    const rid = String(this.nextId++);
    const response = new Promise<T>((resolve, reject) => {
      const timer = this.clock.setTimeout(() => {
        this.pending.delete(rid);
        reject(new RequestTimeoutError(`${this.what} $rid=${rid}`, timeoutMs));
      }, timeoutMs);
      this.pending.set(rid, { resolve, reject, timer });
    });
    return { rid, response };
  }

  /** Completes a request; false when the id is unknown (late, duplicate or foreign reply). */
  resolve(rid: string, value: T): boolean {
    const entry = this.pending.get(rid);
    if (!entry) return false;
    this.pending.delete(rid);
    this.clock.clearTimeout(entry.timer);
    entry.resolve(value);
    return true;
  }

  reject(rid: string, error: Error): boolean {
    const entry = this.pending.get(rid);
    if (!entry) return false;
    this.pending.delete(rid);
    this.clock.clearTimeout(entry.timer);
    entry.reject(error);
    return true;
  }

  rejectAll(error: Error): void {
    for (const rid of Array.from(this.pending.keys())) this.reject(rid, error);
  }

  get size(): number {
    return this.pending.size;
  }
}
