import type { OutboxRecord, OutboxStore } from "../azure/telemetry-outbox";
import type { RecordStorage } from "../ports/record-storage";
import { checkSegmentName } from "../ports/record-storage";
import { errorMessage } from "../core/listeners";
import { concatBytes, fromUtf8, utf8 } from "../core/bytes";
import { toJson } from "../core/json";

/*
 * On-storage format (all integers little-endian). A segment is a sequence of frames:
 *
 *   offset  size  field
 *   0       1     magic 0xB7
 *   1       1     type: 1 = event record, 2 = acknowledgement (tombstone)
 *   2       2     payload length L (u16)
 *   4       4     seq (u32): the outbox sequence number
 *   8       L     payload
 *   8+L     4     CRC-32 (IEEE 802.3, as zlib) over bytes 1 .. 8+L (type, length, seq, payload)
 *
 * An event's payload is UTF-8 JSON `[id, createdAt, properties, body]`; an acknowledgement has L = 0.
 * Replaying all segments in order (by the number in their name, then by offset) gives the live set:
 * an event adds its seq, an acknowledgement removes it. A frame that fails its checks is skipped by
 * scanning for the next valid frame (reported "corrupt"); bytes at the end of a segment that hold no
 * valid frame are a torn write (reported "torn"), and that segment is never appended to again.
 *
 * Compaction erases a segment whose events are all acknowledged, once no acknowledgement in it still
 * cancels an event in a segment that survives (otherwise erasing it would bring that event back).
 * When the log is at its segment limit, the oldest segment's live events are copied forward into the
 * new segment if they fit, else they are dropped (oldest first, counted and reported).
 */

const MAGIC = 0xb7;
const TYPE_EVENT = 1;
const TYPE_ACK = 2;
/** Header (magic, type, length, seq) and trailer (CRC). */
export const FRAME_OVERHEAD = 12;
const HEADER = 8;
const MAX_PAYLOAD = 0xffff;

let crcTable: Uint32Array | undefined;

function table(): Uint32Array {
  if (crcTable) return crcTable;
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  crcTable = t;
  return t;
}

/** CRC-32 (IEEE 802.3, reflected 0xEDB88320; crc32("123456789") = 0xCBF43926) of bytes[start, end). */
export function crc32(bytes: Uint8Array, start = 0, end = bytes.length): number {
  const t = table();
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = t[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function frame(type: number, seq: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(FRAME_OVERHEAD + payload.length);
  const view = new DataView(out.buffer);
  out[0] = MAGIC;
  out[1] = type;
  view.setUint16(2, payload.length, true);
  view.setUint32(4, seq, true);
  out.set(payload, HEADER);
  view.setUint32(HEADER + payload.length, crc32(out, 1, HEADER + payload.length), true);
  return out;
}

/** Encodes an event record as one frame (exported for tests and tools). */
export function encodeEventFrame(record: OutboxRecord): Uint8Array {
  const payload = utf8(toJson([record.id, record.createdAt, record.properties, record.body]));
  if (payload.length > MAX_PAYLOAD) throw new RangeError(`outbox event ${record.id} is ${payload.length} bytes; at most ${MAX_PAYLOAD} fit a frame`);
  if (!Number.isInteger(record.seq) || record.seq < 0 || record.seq > 0xffffffff) throw new RangeError(`outbox seq ${record.seq} out of range`);
  return frame(TYPE_EVENT, record.seq, payload);
}

export function encodeAckFrame(seq: number): Uint8Array {
  return frame(TYPE_ACK, seq, new Uint8Array(0));
}

type Decoded = { readonly type: typeof TYPE_EVENT; readonly record: OutboxRecord; readonly length: number } | { readonly type: typeof TYPE_ACK; readonly seq: number; readonly length: number };

function decodeRecord(seq: number, payload: Uint8Array): OutboxRecord | undefined {
  let value: unknown;
  try {
    value = JSON.parse(fromUtf8(payload));
  } catch {
    return undefined;
  }
  if (!Array.isArray(value) || value.length !== 4) return undefined;
  const [id, createdAt, properties, body] = value as unknown[];
  if (typeof id !== "string" || typeof createdAt !== "number" || typeof body !== "string") return undefined;
  if (typeof properties !== "object" || properties === null || Array.isArray(properties)) return undefined;
  const props: Record<string, string> = {};
  for (const key of Object.keys(properties)) {
    const v = (properties as Record<string, unknown>)[key];
    if (typeof v !== "string") return undefined;
    props[key] = v;
  }
  return { seq, id, createdAt, properties: props, body };
}

/** The frame at `pos`, or undefined when there is none (too short, bad magic/type/length/CRC, bad payload). */
function decodeFrame(bytes: Uint8Array, pos: number, view: DataView): Decoded | undefined {
  if (pos + FRAME_OVERHEAD > bytes.length || bytes[pos] !== MAGIC) return undefined;
  const type = bytes[pos + 1];
  if (type !== TYPE_EVENT && type !== TYPE_ACK) return undefined;
  const length = view.getUint16(pos + 2, true);
  if (type === TYPE_ACK && length !== 0) return undefined;
  const end = pos + HEADER + length;
  if (end + 4 > bytes.length) return undefined;
  if (view.getUint32(end, true) !== crc32(bytes, pos + 1, end)) return undefined;
  const seq = view.getUint32(pos + 4, true);
  const total = FRAME_OVERHEAD + length;
  if (type === TYPE_ACK) return { type: TYPE_ACK, seq, length: total };
  const record = decodeRecord(seq, bytes.subarray(pos + HEADER, end));
  return record ? { type: TYPE_EVENT, record, length: total } : undefined;
}

export type OutboxLogEvent =
  /** Bytes at the end of a segment held no valid frame (a write cut by power loss): discarded. */
  | { readonly type: "torn"; readonly segment: string; readonly offset: number; readonly bytes: number }
  /** Bytes inside a segment failed their checks: skipped; the frames after them are kept. */
  | { readonly type: "corrupt"; readonly segment: string; readonly offset: number; readonly bytes: number }
  /** A live event was dropped because the log was full (oldest first). */
  | { readonly type: "dropped"; readonly seq: number; readonly id: string; readonly totalDropped: number }
  /** A segment with nothing live left was erased. */
  | { readonly type: "compacted"; readonly segment: string }
  /** Live events of the oldest segment were copied into a new segment so that segment could be erased. */
  | { readonly type: "copied"; readonly segment: string; readonly records: number }
  /** A storage operation failed (a failed append of an event is also thrown to the caller). */
  | { readonly type: "error"; readonly operation: string; readonly segment: string; readonly message: string };

export interface OutboxLogOptions {
  /** Largest segment in bytes (default 4096: one flash sector). An event frame must fit one segment. */
  readonly segmentBytes?: number;
  /** Most segments kept (default 64; one more exists briefly while the oldest is copied forward). */
  readonly maxSegments?: number;
  /** Most live events kept; beyond it the oldest are dropped (default 1000, the outbox's default capacity). */
  readonly maxRecords?: number;
  /** Segment names are `<prefix><number>` (default "ob"); prefix plus digits must stay within 15 characters. */
  readonly prefix?: string;
  /** Reports recovery, compaction, drops and storage errors. Must not throw (a throw is ignored). */
  readonly onEvent?: (event: OutboxLogEvent) => void;
  /**
   * Acknowledgements of one task go out in one append when the task ends (default true), not one append and sync
   * per PUBACK: a drain of a full outbox then costs a flash write per received TCP chunk instead of one per event
   * (less wear; on the host 1000 fsyncs were a third of a second). A power loss before that write only means
   * those events are sent again after the restart, with their `$.mid`, which the cloud drops as duplicates.
   */
  readonly batchAcks?: boolean;
}

export interface OutboxLogStats {
  /** Live (unacknowledged) events. */
  readonly records: number;
  readonly segments: number;
  /** Bytes in all segments. */
  readonly bytes: number;
  /** Events dropped because the log was full, since it was opened. */
  readonly dropped: number;
  /** Torn tails discarded, and corrupt regions skipped, when the log was opened. */
  readonly torn: number;
  readonly corrupt: number;
  /** Segments erased by compaction since it was opened. */
  readonly compacted: number;
}

interface Segment {
  readonly name: string;
  readonly n: number;
  size: number;
  /** Live events in this segment and their frame bytes. */
  live: number;
  liveBytes: number;
  /** Numbers of older segments holding events that acknowledgements in this segment cancel. */
  readonly targets: Set<number>;
}

interface Entry {
  readonly record: OutboxRecord;
  segment: Segment;
  readonly bytes: number;
}

/**
 * The outbox's store on flash: an append-only, segmented log of event and acknowledgement frames (see
 * the format above). Every event is durable before `append` returns; `remove` (after PUBACK) appends a
 * 12-byte acknowledgement, never rewrites the queue: at once, or with `batchAcks` (the default) together with the
 * task's other acknowledgements when the task ends (`flush` writes them earlier). Opening never throws: torn and
 * corrupt frames are skipped and reported through `onEvent`.
 */
export class OutboxLog implements OutboxStore {
  private readonly segmentBytes: number;
  private readonly maxSegments: number;
  private readonly maxRecords: number;
  private readonly prefix: string;
  private readonly pattern: RegExp;
  private segments: Segment[] = [];
  private readonly live = new Map<number, Entry>();
  /** The segment appends go to; undefined: the next append starts a new one. */
  private active: Segment | undefined;
  private opened = false;
  private droppedTotal = 0;
  private tornCount = 0;
  private corruptCount = 0;
  private compactedCount = 0;
  private readonly batchAcks: boolean;
  /** Acknowledgements not yet written (their events are no longer live), with the segment each event is in. */
  private pendingAcks: Array<{ readonly seq: number; readonly segment: Segment }> = [];
  private flushQueued = false;

  constructor(
    private readonly storage: RecordStorage,
    private readonly options: OutboxLogOptions = {},
  ) {
    this.segmentBytes = options.segmentBytes ?? 4096;
    this.maxSegments = options.maxSegments ?? 64;
    this.maxRecords = options.maxRecords ?? 1000;
    this.prefix = options.prefix ?? "ob";
    this.batchAcks = options.batchAcks ?? true;
    if (!(this.segmentBytes >= 64 && this.segmentBytes <= MAX_PAYLOAD + FRAME_OVERHEAD)) throw new RangeError(`segmentBytes must be 64..${MAX_PAYLOAD + FRAME_OVERHEAD}`);
    if (!(this.maxSegments >= 2)) throw new RangeError("maxSegments must be at least 2");
    if (!(this.maxRecords >= 1)) throw new RangeError("maxRecords must be at least 1");
    checkSegmentName(`${this.prefix}1`);
    this.pattern = new RegExp(`^${this.prefix.replace(/[.]/g, "\\.")}([0-9]{1,12})$`);
  }

  /** All live events, oldest (lowest seq) first. Opens the log on first use. */
  load(): OutboxRecord[] {
    this.open();
    return Array.from(this.live.values(), (e) => e.record).sort((a, b) => a.seq - b.seq);
  }

  /** Stores an event durably (throws, storing nothing usable, when the storage fails or the event cannot fit). */
  append(record: OutboxRecord): void {
    this.open();
    const bytes = encodeEventFrame(record);
    if (bytes.length > this.segmentBytes) throw new RangeError(`outbox event ${record.id} needs ${bytes.length} bytes; a segment holds ${this.segmentBytes}`);
    while (this.live.size >= this.maxRecords && !this.live.has(record.seq)) this.dropOldest();
    const segment = this.room(bytes.length);
    this.write(segment, bytes, true);
    const previous = this.live.get(record.seq);
    if (previous) this.unlink(previous);
    this.link({ record, segment, bytes: bytes.length });
  }

  /** Marks an event delivered (an acknowledgement frame, see `batchAcks`). Never throws: a failed write is reported. */
  remove(seq: number): void {
    this.open();
    const entry = this.live.get(seq);
    if (!entry) return;
    this.unlink(entry);
    this.live.delete(seq);
    this.pendingAcks.push({ seq, segment: entry.segment });
    if (!this.batchAcks) this.flush();
    else if (!this.flushQueued) {
      this.flushQueued = true;
      // A microtask: after every PUBACK of the data just read, before any timer or I/O callback (restart included).
      void Promise.resolve().then(() => this.flush());
    }
  }

  /** Writes the acknowledgements not yet written, in as few appends as segments allow. Never throws. */
  flush(): void {
    this.flushQueued = false;
    let acks = this.pendingAcks;
    if (acks.length === 0) return;
    this.pendingAcks = [];
    const emptied = new Set<Segment>();
    for (const a of acks) if (a.segment.live === 0) emptied.add(a.segment);
    const perAppend = Math.max(1, Math.floor(this.segmentBytes / FRAME_OVERHEAD));
    while (acks.length > 0) {
      // An event whose segment is already erased (compacted, copied forward, dropped) needs no acknowledgement.
      acks = acks.filter((a) => this.segments.includes(a.segment));
      const batch = acks.slice(0, perAppend);
      acks = acks.slice(batch.length);
      if (batch.length === 0) break;
      try {
        const bytes = concatBytes(batch.map((a) => encodeAckFrame(a.seq)));
        const segment = this.room(bytes.length);
        this.write(segment, bytes, false); // a failed write is reported there; the events are sent again later
        for (const a of batch) if (a.segment !== segment && this.segments.includes(a.segment)) segment.targets.add(a.segment.n);
      } catch (error) {
        this.report({ type: "error", operation: "acknowledge", segment: batch[0]!.segment.name, message: errorMessage(error) });
      }
    }
    for (const segment of emptied) {
      if (segment !== this.active && this.segments.includes(segment)) {
        this.compact();
        break;
      }
    }
  }

  get stats(): OutboxLogStats {
    this.open();
    let bytes = 0;
    for (const s of this.segments) bytes += s.size;
    return {
      records: this.live.size,
      segments: this.segments.length,
      bytes,
      dropped: this.droppedTotal,
      torn: this.tornCount,
      corrupt: this.corruptCount,
      compacted: this.compactedCount,
    };
  }

  /** Segment names in log order (for tests and diagnostics). */
  get segmentNames(): string[] {
    this.open();
    return this.segments.map((s) => s.name);
  }

  private open(): void {
    if (this.opened) return;
    this.opened = true;
    let names: string[] = [];
    try {
      names = this.storage.list();
    } catch (error) {
      this.report({ type: "error", operation: "list", segment: "", message: errorMessage(error) });
    }
    const found: Segment[] = [];
    for (const name of names) {
      const m = this.pattern.exec(name);
      if (m) found.push({ name, n: Number(m[1]), size: 0, live: 0, liveBytes: 0, targets: new Set() });
    }
    found.sort((a, b) => a.n - b.n);
    this.segments = found;
    let lastTorn = false;
    for (const segment of found) lastTorn = this.replay(segment);
    const last = found[found.length - 1];
    this.active = last && !lastTorn && last.size < this.segmentBytes ? last : undefined;
    // Everything acknowledged: start afresh (the outbox then numbers from 1 again, in a new segment).
    if (this.live.size === 0) this.active = undefined;
    this.compact();
    while (this.live.size > this.maxRecords) this.dropOldest();
  }

  /** Applies a segment's frames; true when it ends in a torn write. */
  private replay(segment: Segment): boolean {
    let bytes: Uint8Array;
    try {
      bytes = this.storage.read(segment.name);
    } catch (error) {
      this.report({ type: "error", operation: "read", segment: segment.name, message: errorMessage(error) });
      return true;
    }
    segment.size = bytes.length;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let pos = 0;
    while (pos < bytes.length) {
      const decoded = decodeFrame(bytes, pos, view);
      if (decoded) {
        this.apply(segment, decoded);
        pos += decoded.length;
        continue;
      }
      // Resynchronise on the next valid frame; none at all means a torn tail.
      let next = -1;
      for (let p = pos + 1; p + FRAME_OVERHEAD <= bytes.length; p++) {
        if (bytes[p] === MAGIC && decodeFrame(bytes, p, view)) {
          next = p;
          break;
        }
      }
      if (next < 0) {
        this.tornCount++;
        this.report({ type: "torn", segment: segment.name, offset: pos, bytes: bytes.length - pos });
        return true;
      }
      this.corruptCount++;
      this.report({ type: "corrupt", segment: segment.name, offset: pos, bytes: next - pos });
      pos = next;
    }
    return false;
  }

  private apply(segment: Segment, decoded: Decoded): void {
    if (decoded.type === TYPE_EVENT) {
      const previous = this.live.get(decoded.record.seq);
      if (previous) this.unlink(previous); // a copy forward that was interrupted before its erase
      this.link({ record: decoded.record, segment, bytes: decoded.length });
      return;
    }
    const entry = this.live.get(decoded.seq);
    if (!entry) return; // its event is in an erased segment, or was corrupt
    this.unlink(entry);
    this.live.delete(decoded.seq);
    if (entry.segment !== segment) segment.targets.add(entry.segment.n);
  }

  private link(entry: Entry): void {
    this.live.set(entry.record.seq, entry);
    entry.segment.live++;
    entry.segment.liveBytes += entry.bytes;
  }

  private unlink(entry: Entry): void {
    entry.segment.live--;
    entry.segment.liveBytes -= entry.bytes;
  }

  /** A segment with room for `bytes` more, rolling over (compacting, copying forward or dropping) when needed. */
  private room(bytes: number): Segment {
    if (this.active && this.active.size + bytes <= this.segmentBytes) return this.active;
    this.active = undefined;
    this.compact();
    const fresh = this.newSegment();
    if (this.segments.length > this.maxSegments) {
      const oldest = this.segments[0]!;
      if (oldest !== fresh && oldest.liveBytes + bytes <= this.segmentBytes) {
        // Throws when the write fails: `fresh` then holds nothing live and is compacted later.
        this.copyForward(oldest, fresh);
        this.erase(oldest);
        this.compact();
      }
      while (this.segments.length > this.maxSegments && this.segments[0] !== fresh) this.dropSegment(this.segments[0]!);
    }
    this.active = fresh;
    return fresh;
  }

  private newSegment(): Segment {
    const last = this.segments[this.segments.length - 1];
    const n = last ? last.n + 1 : 1;
    const segment: Segment = { name: `${this.prefix}${n}`, n, size: 0, live: 0, liveBytes: 0, targets: new Set() };
    checkSegmentName(segment.name);
    this.segments.push(segment);
    return segment;
  }

  /** Rewrites the live events of `from` into `to` (one append); throws when the write fails. */
  private copyForward(from: Segment, to: Segment): void {
    const entries = Array.from(this.live.values())
      .filter((e) => e.segment === from)
      .sort((a, b) => a.record.seq - b.record.seq);
    if (entries.length === 0) return;
    this.write(to, concatBytes(entries.map((e) => encodeEventFrame(e.record))), true);
    for (const e of entries) {
      this.unlink(e);
      e.segment = to;
      to.live++;
      to.liveBytes += e.bytes;
    }
    this.report({ type: "copied", segment: from.name, records: entries.length });
  }

  /** Drops a whole segment: its live events are lost (counted and reported, oldest first). */
  private dropSegment(segment: Segment): void {
    const entries = Array.from(this.live.values())
      .filter((e) => e.segment === segment)
      .sort((a, b) => a.record.seq - b.record.seq);
    for (const e of entries) {
      this.unlink(e);
      this.live.delete(e.record.seq);
      this.droppedTotal++;
      this.report({ type: "dropped", seq: e.record.seq, id: e.record.id, totalDropped: this.droppedTotal });
    }
    this.erase(segment);
  }

  private dropOldest(): void {
    let oldest: Entry | undefined;
    for (const e of this.live.values()) if (!oldest || e.record.seq < oldest.record.seq) oldest = e;
    if (!oldest) return;
    const { seq, id } = oldest.record;
    this.remove(seq);
    this.droppedTotal++;
    this.report({ type: "dropped", seq, id, totalDropped: this.droppedTotal });
  }

  /** Erases every segment (oldest first) with nothing live whose acknowledgements cancel nothing that survives. */
  private compact(): void {
    const present = new Set(this.segments.map((s) => s.n));
    for (const segment of this.segments.slice()) {
      if (segment === this.active || segment.live > 0) continue;
      let needed = false;
      for (const t of segment.targets) if (present.has(t)) needed = true;
      if (needed) continue;
      this.erase(segment);
      present.delete(segment.n);
      this.compactedCount++;
      this.report({ type: "compacted", segment: segment.name });
    }
  }

  private erase(segment: Segment): void {
    const i = this.segments.indexOf(segment);
    if (i >= 0) this.segments.splice(i, 1);
    if (this.active === segment) this.active = undefined;
    try {
      this.storage.erase(segment.name);
    } catch (error) {
      // Left behind, it is replayed (and erased) again at the next open.
      this.report({ type: "error", operation: "erase", segment: segment.name, message: errorMessage(error) });
    }
  }

  private write(segment: Segment, bytes: Uint8Array, rethrow: boolean): void {
    try {
      this.storage.append(segment.name, bytes);
      segment.size += bytes.length;
    } catch (error) {
      // Part of it may be there: never append behind a possibly torn frame.
      if (this.active === segment) this.active = undefined;
      try {
        segment.size = this.storage.size(segment.name);
      } catch {
        segment.size = this.segmentBytes;
      }
      this.report({ type: "error", operation: "append", segment: segment.name, message: errorMessage(error) });
      if (rethrow) throw error;
    }
  }

  private report(event: OutboxLogEvent): void {
    try {
      this.options.onEvent?.(event);
    } catch {
      // a reporting hook must not break the log
    }
  }
}
