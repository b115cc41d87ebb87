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
  /** Most messages in flight (sent, awaiting PUBACK) at once: bounds the per-message state of small messages. */
  readonly window: number;
  /**
   * Most bytes in flight at once, as `cost` counts them (default: no byte bound, `window` alone). A record that does
   * not fit waits for PUBACKs to free budget (later ones wait behind it: order is kept); one larger than the whole
   * budget still goes, alone.
   */
  readonly inFlightBytes?: number;
  /** What a record occupies while in flight, in bytes (default: its body and properties as UTF-16 code units). */
  readonly cost?: (record: OutboxRecord) => number;
  /** Largest number of records kept; beyond it the oldest are dropped, and counted. */
  readonly capacity: number;
  /** Prefix of message ids; unique per boot so ids never repeat across restarts. */
  readonly idPrefix: string;
}

/** The outcome of one send: `done(seq)` on PUBACK, `done(seq, error)` when it failed. */
export type SendDone = (seq: number, error?: unknown) => void;
/**
 * Sends a record: either returns a promise of its PUBACK, or reports through `done` (one function per session, so
 * nothing is allocated per message to wait for the PUBACK).
 */
export type Send = (record: OutboxRecord, done: SendDone) => Promise<void> | void;

function defaultCost(record: OutboxRecord): number {
  let n = record.body.length;
  for (const key of Object.keys(record.properties)) n += key.length + record.properties[key]!.length + 2;
  return n;
}

/**
 * At-least-once telemetry: a record leaves only on PUBACK. In flight at once: up to `window` records and, with
 * `inFlightBytes`, up to that many bytes (the first record always goes); each PUBACK frees its share and the next
 * records go out at once (a sliding window, not batches). After a reconnect everything not acknowledged is sent
 * again, oldest first.
 */
export class TelemetryOutbox {
  private readonly queue: OutboxRecord[];
  /** seq → the cost counted for it while in flight. */
  private readonly inFlight = new Map<number, number>();
  private inFlightCost = 0;
  private readonly byteBudget: number;
  private readonly cost: (record: OutboxRecord) => number;
  private readonly listeners: Listeners<OutboxEvent>;
  private send: Send | undefined;
  /** The current session's completion callback (it knows its generation). */
  private done: SendDone | undefined;
  /** hold(): nothing new is sent until the next attach. */
  private held = false;
  private generation = 0;
  private nextSeq: number;
  private droppedTotal = 0;

  constructor(private readonly options: OutboxOptions) {
    if (!(options.window >= 1) || !(options.capacity >= options.window)) {
      throw new RangeError(`outbox: need window >= 1 and capacity >= window, got window=${options.window} capacity=${options.capacity}`);
    }
    if (options.inFlightBytes !== undefined && !(options.inFlightBytes >= 1)) {
      throw new RangeError(`outbox: need inFlightBytes >= 1, got ${options.inFlightBytes}`);
    }
    this.byteBudget = options.inFlightBytes ?? Infinity;
    this.cost = options.cost ?? defaultCost;
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

  /** The bytes in flight, as `cost` counts them. */
  get inFlightBytes(): number {
    return this.inFlightCost;
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
    const generation = ++this.generation;
    this.clearInFlight();
    this.send = send;
    this.done = (seq, error) => this.settled(seq, generation, error);
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
    this.done = undefined;
    this.clearInFlight();
  }

  private clearInFlight(): void {
    this.inFlight.clear();
    this.inFlightCost = 0;
  }

  /** Takes a record out of the in-flight set, freeing its share of the budget. */
  private land(seq: number): void {
    const cost = this.inFlight.get(seq);
    if (cost === undefined) return;
    this.inFlight.delete(seq);
    this.inFlightCost -= cost;
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
    this.land(record.seq);
    this.options.store.remove(record.seq);
    return true;
  }

  private pump(): void {
    const send = this.send;
    const done = this.done;
    if (!send || !done || this.held) return;
    for (const record of this.queue) {
      if (this.inFlight.size >= this.options.window) break;
      if (this.inFlight.has(record.seq)) continue;
      const cost = this.cost(record);
      // In order: a record that does not fit waits (and all behind it), unless nothing is in flight.
      if (this.inFlight.size > 0 && this.inFlightCost + cost > this.byteBudget) break;
      this.inFlight.set(record.seq, cost);
      this.inFlightCost += cost;
      this.listeners.emit({ type: "sent", record });
      const seq = record.seq;
      const result = send(record, done);
      if (result) result.then(() => done(seq), (error: unknown) => done(seq, error));
    }
  }

  private settled(seq: number, generation: number, error: unknown): void {
    if (error === undefined) {
      // A PUBACK is proof of delivery even if the session has since been replaced.
      const record = this.queue.find((r) => r.seq === seq);
      if (record && this.removeRecord(record)) this.listeners.emit({ type: "delivered", record });
      this.pump();
      return;
    }
    if (generation !== this.generation) return;
    // Session broke mid-flight: it will be re-sent after the next attach.
    this.land(seq);
    const id = this.queue.find((r) => r.seq === seq)?.id;
    this.options.logger.debug("telemetry not acknowledged", { id, reason: errorMessage(error) });
  }
}
