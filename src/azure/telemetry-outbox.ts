import type { Clock } from "../ports/clock";
import type { ScopedLogger } from "../ports/logger";
import { Listeners, errorMessage } from "../core/listeners";

/** One telemetry message waiting for its PUBACK. */
export interface OutboxRecord {
  /** Monotonic sequence: the send order. */
  readonly seq: number;
  /** The `$.mid` the hub sees; the same on every resend, so duplicates are recognisable. */
  readonly id: string;
  /** Device time (ms since epoch) when the event was recorded. */
  readonly createdAt: number;
  /** Application properties for the topic's property bag. */
  readonly properties: Readonly<Record<string, string>>;
  /** The JSON body. */
  readonly body: string;
}

/**
 * Where the outbox keeps its records: the seam for persistence across power loss.
 * The in-memory store below is the default; a flash/file store plugs in here.
 */
export interface OutboxStore {
  /** All records, oldest first (called once when the outbox opens). */
  load(): OutboxRecord[];
  append(record: OutboxRecord): void;
  remove(seq: number): void;
}

export class MemoryOutboxStore implements OutboxStore {
  private readonly records = new Map<number, OutboxRecord>();
  load(): OutboxRecord[] {
    return Array.from(this.records.values()).sort((a, b) => a.seq - b.seq);
  }
  append(record: OutboxRecord): void {
    this.records.set(record.seq, record);
  }
  remove(seq: number): void {
    this.records.delete(seq);
  }
}

export type OutboxEvent =
  | { readonly type: "queued"; readonly record: OutboxRecord }
  | { readonly type: "sent"; readonly record: OutboxRecord }
  | { readonly type: "delivered"; readonly record: OutboxRecord }
  | { readonly type: "dropped"; readonly record: OutboxRecord; readonly totalDropped: number };

export interface OutboxOptions {
  readonly store: OutboxStore;
  readonly clock: Clock;
  readonly logger: ScopedLogger;
  /** Messages in flight (sent, awaiting PUBACK) at once. */
  readonly window: number;
  /** Largest number of records kept; beyond it the oldest are dropped, and counted. */
  readonly capacity: number;
  /** Prefix of message ids; unique per boot so ids never repeat across restarts. */
  readonly idPrefix: string;
}

type Send = (record: OutboxRecord) => Promise<void>;

/**
 * At-least-once telemetry: a record leaves only on PUBACK. Up to `window` records are in flight;
 * after a reconnect everything not acknowledged is sent again, oldest first.
 */
export class TelemetryOutbox {
  private readonly queue: OutboxRecord[];
  private readonly inFlight = new Set<number>();
  private readonly listeners: Listeners<OutboxEvent>;
  private send: Send | undefined;
  /** hold(): nothing new is sent until the next attach. */
  private held = false;
  private generation = 0;
  private nextSeq: number;
  private droppedTotal = 0;

  constructor(private readonly options: OutboxOptions) {
    if (!(options.window >= 1) || !(options.capacity >= options.window)) {
      throw new RangeError(`outbox: need window >= 1 and capacity >= window, got window=${options.window} capacity=${options.capacity}`);
    }
    this.queue = options.store.load();
    this.nextSeq = this.queue.length > 0 ? this.queue[this.queue.length - 1]!.seq + 1 : 1;
    this.listeners = new Listeners<OutboxEvent>((e) => options.logger.error("outbox listener failed", { error: errorMessage(e) }));
  }

  onEvent(listener: (event: OutboxEvent) => void): () => void {
    return this.listeners.add(listener);
  }

  /** Records a message (stored before this returns) and sends it when a window slot is free. */
  enqueue(body: string, properties: Readonly<Record<string, string>> = {}): OutboxRecord {
    const seq = this.nextSeq++;
    const record: OutboxRecord = { seq, id: `${this.options.idPrefix}-${seq}`, createdAt: this.options.clock.now(), properties, body };
    while (this.queue.length >= this.options.capacity) this.dropOldest();
    this.options.store.append(record);
    this.queue.push(record);
    this.listeners.emit({ type: "queued", record });
    this.pump();
    return record;
  }

  /** Records not yet acknowledged (in flight included). */
  get depth(): number {
    return this.queue.length;
  }

  get inFlightCount(): number {
    return this.inFlight.size;
  }

  get dropped(): number {
    return this.droppedTotal;
  }

  /** The most records kept. */
  get capacity(): number {
    return this.options.capacity;
  }

  /** A session is up: start (re)sending from the oldest record. */
  attach(send: Send): void {
    this.generation++;
    this.inFlight.clear();
    this.send = send;
    this.held = false;
    this.pump();
  }

  /**
   * Sends nothing new until the next attach (the orderly goodbye): what is in flight may still be acknowledged;
   * everything else stays queued, and stored, for the next session.
   */
  hold(): void {
    this.held = true;
  }

  /** The session is gone: whatever was in flight will be sent again on the next attach. */
  detach(): void {
    this.generation++;
    this.send = undefined;
    this.inFlight.clear();
  }

  private dropOldest(): void {
    // Prefer a record that is not in flight, so a PUBACK still matches its record.
    const victim = this.queue.find((r) => !this.inFlight.has(r.seq)) ?? this.queue[0]!;
    this.removeRecord(victim);
    this.droppedTotal++;
    this.options.logger.warn("outbox full: dropped oldest event", { id: victim.id, dropped: this.droppedTotal });
    this.listeners.emit({ type: "dropped", record: victim, totalDropped: this.droppedTotal });
  }

  private removeRecord(record: OutboxRecord): boolean {
    const i = this.queue.indexOf(record);
    if (i < 0) return false;
    this.queue.splice(i, 1);
    this.inFlight.delete(record.seq);
    this.options.store.remove(record.seq);
    return true;
  }

  private pump(): void {
    const send = this.send;
    if (!send || this.held) return;
    for (const record of this.queue) {
      if (this.inFlight.size >= this.options.window) break;
      if (this.inFlight.has(record.seq)) continue;
      this.inFlight.add(record.seq);
      const generation = this.generation;
      this.listeners.emit({ type: "sent", record });
      send(record).then(
        () => {
          // A PUBACK is proof of delivery even if the session has since been replaced.
          if (this.removeRecord(record)) this.listeners.emit({ type: "delivered", record });
          this.pump();
        },
        (error: unknown) => {
          if (generation !== this.generation) return;
          // Session broke mid-flight: it will be re-sent after the next attach.
          this.inFlight.delete(record.seq);
          this.options.logger.debug("telemetry not acknowledged", { id: record.id, reason: errorMessage(error) });
        },
      );
    }
  }
}
