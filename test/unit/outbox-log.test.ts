import assert from "../support/assert";
import type { OutboxRecord } from "../../src/azure/telemetry-outbox";
import { TelemetryOutbox, type OutboxEvent } from "../../src/azure/telemetry-outbox";
import { scoped, silentLogger } from "../../src/ports/logger";
import { FRAME_OVERHEAD, OutboxLog, crc32, encodeAckFrame, encodeEventFrame, type OutboxLogEvent, type OutboxLogOptions } from "../../src/storage/outbox-log";
import { MemoryRecordStorage, PowerLossError } from "../support/memory-record-storage";
import { ManualClock, SeededRandom, flush } from "../support/manual-clock";

const T0 = Date.UTC(2026, 10, 26, 12, 0, 0);

function rec(seq: number, extra: Partial<OutboxRecord> = {}): OutboxRecord {
  return { seq, id: `boot-${seq}`, createdAt: T0 + seq * 1000, properties: { event: "Button_pressed", n: String(seq) }, body: `{"seq":${seq},"text":"grün"}`, ...extra };
}

function open(storage: MemoryRecordStorage, options: OutboxLogOptions = {}) {
  const events: OutboxLogEvent[] = [];
  const log = new OutboxLog(storage, { ...options, onEvent: (e) => events.push(e) });
  return { log, events, of: (type: OutboxLogEvent["type"]) => events.filter((e) => e.type === type) };
}

const seqs = (records: OutboxRecord[]): number[] => records.map((r) => r.seq);

/** One append per acknowledgement, before remove returns (the cases that look at each write). */
const IMMEDIATE: OutboxLogOptions = { batchAcks: false };

describe("OutboxLog (persistent outbox over record storage)", () => {
  it("computes the standard CRC-32", () => {
    assert.equal(crc32(new TextEncoder().encode("123456789")), 0xcbf43926);
    assert.equal(crc32(new Uint8Array(0)), 0);
  });

  it("keeps appended events across a reopen, oldest first, with ids, timestamps, properties and bodies", () => {
    const storage = new MemoryRecordStorage();
    const a = open(storage);
    assert.deepEqual(a.log.load(), []);
    for (const s of [1, 2, 3]) a.log.append(rec(s));
    const b = open(storage);
    const loaded = b.log.load();
    assert.deepEqual(loaded, [rec(1), rec(2), rec(3)]);
    assert.equal(loaded[1]!.id, "boot-2");
    assert.equal(loaded[1]!.createdAt, T0 + 2000);
    assert.deepEqual(b.events, [], "a clean log reports nothing");
  });

  it("writes each event before append returns (one append per event, nothing rewritten)", () => {
    const storage = new MemoryRecordStorage();
    const { log } = open(storage);
    log.load();
    log.append(rec(1));
    assert.equal(storage.appends, 1);
    assert.equal(storage.appendedBytes, encodeEventFrame(rec(1)).length);
    assert.deepEqual(seqs(open(storage).log.load()), [1], "visible to a fresh reader at once");
  });

  it("removes with a 12-byte acknowledgement frame, not a rewrite", () => {
    const storage = new MemoryRecordStorage();
    const { log } = open(storage, IMMEDIATE);
    for (const s of [1, 2, 3]) log.append(rec(s));
    const before = storage.appendedBytes;
    log.remove(2);
    assert.equal(storage.appendedBytes - before, FRAME_OVERHEAD);
    assert.equal(encodeAckFrame(2).length, FRAME_OVERHEAD);
    log.remove(2); // twice, or an unknown seq: no write
    log.remove(99);
    assert.equal(storage.appendedBytes - before, FRAME_OVERHEAD);
    assert.deepEqual(seqs(open(storage).log.load()), [1, 3]);
  });

  it("loads in sequence order when acknowledgements came out of order and events were copied forward or dropped", () => {
    const storage = new MemoryRecordStorage();
    const { log } = open(storage, { segmentBytes: 256, maxSegments: 3, ...IMMEDIATE });
    for (let s = 1; s <= 30; s++) {
      log.append(rec(s));
      if (s % 3 === 0) log.remove(s - 1);
    }
    const loaded = open(storage, { segmentBytes: 256, maxSegments: 3 }).log.load();
    const expected = seqs(log.load());
    assert.deepEqual(seqs(loaded), expected);
    assert.deepEqual(seqs(loaded), [...seqs(loaded)].sort((x, y) => x - y));
  });

  it("discards a torn last event at every byte offset; earlier events stay and the log keeps working", () => {
    const base = new MemoryRecordStorage();
    const first = open(base, IMMEDIATE);
    for (const s of [1, 2, 3]) first.log.append(rec(s));
    first.log.remove(2);
    const segment = base.names()[0]!;
    const intact = base.raw(segment).slice();
    const last = encodeEventFrame(rec(4));
    let checked = 0;
    for (const fill of [undefined, 0x00, 0xff]) {
      for (let cut = 0; cut < last.length; cut++) {
        const storage = new MemoryRecordStorage();
        storage.setRaw(segment, intact.slice());
        const writer = open(storage);
        writer.log.load();
        storage.crashAfter(cut, fill);
        assert.throws(() => writer.log.append(rec(4)), PowerLossError);
        storage.reboot();
        const reader = open(storage, IMMEDIATE);
        assert.deepEqual(reader.log.load(), [rec(1), rec(3)], `cut at ${cut}, fill ${String(fill)}`);
        if (cut > 0 || fill !== undefined) assert.equal(reader.of("torn").length, 1, `torn reported at cut ${cut}`);
        assert.equal(reader.of("corrupt").length, 0, `no corruption reported at cut ${cut}`);
        // It goes on: new events land in a fresh segment, never behind the torn bytes.
        reader.log.append(rec(5));
        reader.log.remove(1);
        assert.deepEqual(seqs(open(storage).log.load()), [3, 5]);
        checked++;
      }
    }
    assert.equal(checked, 3 * last.length);
  });

  it("recovers from a power loss during an acknowledgement (the event is simply still there)", () => {
    for (let cut = 0; cut < FRAME_OVERHEAD; cut++) {
      const storage = new MemoryRecordStorage();
      const { log } = open(storage);
      for (const s of [1, 2]) log.append(rec(s));
      storage.crashAfter(cut);
      log.remove(1); // never throws: reported
      storage.reboot();
      assert.deepEqual(seqs(open(storage).log.load()), [1, 2], `cut at ${cut}`);
    }
  });

  it("skips a middle event with a bad checksum, reports it, and keeps the later ones", () => {
    const storage = new MemoryRecordStorage();
    const { log } = open(storage);
    for (const s of [1, 2, 3, 4]) log.append(rec(s));
    const name = storage.names()[0]!;
    const bytes = storage.raw(name);
    const second = encodeEventFrame(rec(1)).length; // offset of the second frame
    bytes[second + 10] = bytes[second + 10]! ^ 0x40; // a flipped bit in event 2's payload
    const reader = open(storage);
    assert.deepEqual(reader.log.load(), [rec(1), rec(3), rec(4)]);
    const corrupt = reader.of("corrupt");
    assert.equal(corrupt.length, 1);
    assert.deepEqual(corrupt[0], { type: "corrupt", segment: name, offset: second, bytes: encodeEventFrame(rec(2)).length });
    assert.equal(reader.log.stats.corrupt, 1);
  });

  it("survives a corrupted length field and garbage between frames", () => {
    const storage = new MemoryRecordStorage();
    const { log } = open(storage);
    for (const s of [1, 2, 3]) log.append(rec(s));
    const name = storage.names()[0]!;
    const bytes = storage.raw(name);
    const second = encodeEventFrame(rec(1)).length;
    bytes[second + 2] = 0xff; // event 2 claims a huge payload
    bytes[second + 3] = 0xff;
    const reader = open(storage);
    assert.deepEqual(seqs(reader.log.load()), [1, 3]);
    assert.equal(reader.of("corrupt").length, 1);

    const junk = new MemoryRecordStorage();
    const f1 = encodeEventFrame(rec(1));
    const f2 = encodeEventFrame(rec(2));
    const mixed = new Uint8Array(f1.length + 7 + f2.length);
    mixed.set(f1);
    mixed.set([0xb7, 1, 0, 0, 9, 9, 9], f1.length);
    mixed.set(f2, f1.length + 7);
    junk.setRaw("ob1", mixed);
    assert.deepEqual(seqs(open(junk).log.load()), [1, 2]);
  });

  it("opens a log whose segments are empty, garbage, or unknown files without throwing", () => {
    const storage = new MemoryRecordStorage();
    storage.setRaw("ob1", new Uint8Array(0));
    storage.setRaw("ob2", new Uint8Array([1, 2, 3, 0xb7, 0xb7, 0xb7]));
    storage.setRaw("ob3", new Uint8Array(100).fill(0xff));
    storage.setRaw("other", new Uint8Array([1]));
    const reader = open(storage);
    assert.deepEqual(reader.log.load(), []);
    assert.equal(reader.of("torn").length, 2);
    assert.deepEqual(storage.names(), ["other"], "our unusable segments erased, foreign names left alone");
    reader.log.append(rec(1));
    assert.deepEqual(seqs(open(storage).log.load()), [1]);
  });

  it("erases a segment once all its events are acknowledged (compaction), without rewriting live ones", () => {
    const storage = new MemoryRecordStorage();
    const frame = encodeEventFrame(rec(1)).length;
    const a = open(storage, { segmentBytes: frame * 3 + FRAME_OVERHEAD * 2, ...IMMEDIATE });
    for (let s = 1; s <= 9; s++) a.log.append(rec(s));
    assert.ok(storage.names().length >= 3, `several segments (${storage.names().join(",")})`);
    const firstSegment = a.log.segmentNames[0]!;
    for (const s of [1, 2, 3]) a.log.remove(s);
    assert.ok(!storage.names().includes(firstSegment), "the fully acknowledged segment is gone");
    assert.ok(a.of("compacted").length >= 1);
    assert.equal(a.of("copied").length, 0);
    for (let s = 4; s <= 9; s++) a.log.remove(s);
    a.log.append(rec(10));
    a.log.remove(10);
    assert.ok(storage.totalBytes() <= frame * 3 + FRAME_OVERHEAD * 2, `at most the active segment remains (${storage.totalBytes()} bytes)`);
    const b = open(storage);
    assert.deepEqual(b.log.load(), []);
    assert.deepEqual(storage.names(), [], "an all-acknowledged log is erased on open");
  });

  it("does not erase a segment whose acknowledgements still cancel events in an older segment", () => {
    const storage = new MemoryRecordStorage();
    const frame = encodeEventFrame(rec(1)).length;
    const options = { segmentBytes: frame * 2 + FRAME_OVERHEAD, ...IMMEDIATE };
    const { log } = open(storage, options);
    log.append(rec(1)); // ob1: 1, 2
    log.append(rec(2));
    log.append(rec(3)); // ob2: 3, 4
    log.append(rec(4));
    log.remove(2); // ack of 2 in ob2 (ob1 full)... ob2 now holds 3, 4, ack2
    log.append(rec(5)); // ob3
    log.remove(3);
    log.remove(4); // ob2: nothing live, but its ack of 2 still cancels an event in ob1
    const reopened = open(storage, options).log.load();
    assert.deepEqual(seqs(reopened), [1, 5], "event 2 is not resurrected");
  });

  it("drops the oldest events beyond maxRecords, counting and reporting them", () => {
    const storage = new MemoryRecordStorage();
    const { log, of } = open(storage, { maxRecords: 5 });
    for (let s = 1; s <= 8; s++) log.append(rec(s));
    assert.deepEqual(seqs(log.load()), [4, 5, 6, 7, 8]);
    assert.deepEqual(of("dropped").map((e) => (e.type === "dropped" ? e.id : "")), ["boot-1", "boot-2", "boot-3"]);
    assert.equal(log.stats.dropped, 3);
    assert.deepEqual(seqs(open(storage, { maxRecords: 5 }).log.load()), [4, 5, 6, 7, 8]);
  });

  it("stays within its byte bound: copies the oldest segment's few live events forward, else drops the oldest", () => {
    const storage = new MemoryRecordStorage();
    const frame = encodeEventFrame(rec(1)).length;
    const segmentBytes = frame * 4;
    const options = { segmentBytes, maxSegments: 3, ...IMMEDIATE };
    const { log, of } = open(storage, options);
    // A stuck oldest event (1); every other event acknowledged one step later, so each segment's
    // acknowledgements cancel events of the segment before it: nothing can be erased until 1 moves.
    for (let s = 1; s <= 40; s++) {
      log.append(rec(s));
      if (s > 2) log.remove(s - 1);
      assert.ok(storage.names().length <= 4, "at most maxSegments + 1 segments");
    }
    assert.deepEqual(seqs(log.load()), [1, 40]);
    assert.ok(of("copied").length >= 1, "copied forward");
    assert.equal(of("dropped").length, 0);
    assert.deepEqual(seqs(open(storage, options).log.load()), [1, 40]);
    // Nothing acknowledged: the oldest are dropped.
    for (let s = 41; s <= 60; s++) log.append(rec(s));
    assert.ok(storage.totalBytes() <= segmentBytes * 3, `bounded (${storage.totalBytes()} bytes)`);
    const live = seqs(log.load());
    assert.ok(of("dropped").length > 0);
    assert.equal(live[live.length - 1], 60);
    assert.equal(live.length + log.stats.dropped, 22, "every event kept or counted as dropped");
    assert.deepEqual(seqs(open(storage, options).log.load()), live);
  });

  for (const batchAcks of [false, true]) {
    it(`matches a simple model over 2000 random appends, acknowledgements, reopens and drops (${batchAcks ? "acknowledgements batched" : "one append per acknowledgement"})`, () => {
      const random = new SeededRandom(42);
      const storage = new MemoryRecordStorage();
      const options = { segmentBytes: 600, maxSegments: 4, maxRecords: 12, batchAcks };
      const model = new Map<number, OutboxRecord>();
      const track = (e: OutboxLogEvent): void => {
        if (e.type === "dropped") model.delete(e.seq);
      };
      let log = new OutboxLog(storage, { ...options, onEvent: track });
      let next = 1;
      let reopens = 0;
      for (let step = 0; step < 2000; step++) {
        const r = random.next();
        if (r < 0.5) {
          const record = rec(next++, { body: "x".repeat(Math.floor(random.next() * 120)) });
          log.append(record);
          model.set(record.seq, record);
        } else if (r < 0.95) {
          const live = Array.from(model.keys());
          if (live.length === 0) continue;
          const seq = live[Math.floor(random.next() * live.length)]!;
          log.remove(seq);
          model.delete(seq);
          if (random.next() < 0.3) log.flush(); // the task ends here
        } else {
          log.flush(); // a reopen comes after the task: its acknowledgements are written
          log = new OutboxLog(storage, { ...options, onEvent: track });
          reopens++;
          const loaded = log.load();
          if (loaded.length === 0) next = 1; // as the outbox does: numbering restarts from the stored records
          else next = loaded[loaded.length - 1]!.seq + 1;
        }
        const expected = Array.from(model.values()).sort((a, b) => a.seq - b.seq);
        assert.deepEqual(log.load(), expected, `step ${step}`);
        assert.ok(storage.names().length <= options.maxSegments + 1, `segments at step ${step}`);
      }
      log.flush();
      assert.deepEqual(new OutboxLog(storage, options).load(), Array.from(model.values()).sort((a, b) => a.seq - b.seq));
      assert.ok(reopens > 50);
    });

    it(`loses no stored event and resurrects no acknowledged one across random power losses (25 seeds, ${batchAcks ? "acknowledgements batched" : "one append per acknowledgement"})`, () => {
      for (let seed = 1; seed <= 25; seed++) {
        const random = new SeededRandom(seed);
        const storage = new MemoryRecordStorage();
        const options = { segmentBytes: 200 + Math.floor(random.next() * 800), maxSegments: 2 + Math.floor(random.next() * 5), maxRecords: 5 + Math.floor(random.next() * 30), batchAcks };
        const model = new Map<number, OutboxRecord>();
        // Acknowledged (or dropped) while a power loss was pending, or not yet written when the power went (batched):
        // either outcome is right after the reboot.
        const uncertain = new Set<number>();
        const unwritten = new Set<number>();
        let armed = false;
        const track = (e: OutboxLogEvent): void => {
          if (e.type !== "dropped") return;
          model.delete(e.seq);
          if (armed) uncertain.add(e.seq);
          if (batchAcks) unwritten.add(e.seq);
        };
        let log = new OutboxLog(storage, { ...options, onEvent: track });
        let next = 1;
        for (let step = 0; step < 400; step++) {
          const r = random.next();
          if (r < 0.5) {
            const record = rec(next++, { body: "x".repeat(Math.floor(random.next() * 100)) });
            try {
              log.append(record);
              model.set(record.seq, record);
            } catch (error) {
              assert.ok(error instanceof PowerLossError, String(error));
            }
          } else if (r < 0.9) {
            const live = Array.from(model.keys());
            if (live.length === 0) continue;
            const seq = live[Math.floor(random.next() * live.length)]!;
            log.remove(seq); // never throws, even with the power gone
            model.delete(seq);
            if (armed) uncertain.add(seq);
            if (batchAcks) unwritten.add(seq);
            if (random.next() < 0.3) {
              log.flush(); // the task ends here (never throws, even with the power gone)
              if (!armed) unwritten.clear();
              else for (const u of unwritten) uncertain.add(u);
            }
          } else if (r < 0.95) {
            storage.crashAfter(Math.floor(random.next() * 150), random.next() < 0.5 ? 0xff : undefined);
            armed = true;
          } else {
            storage.reboot();
            armed = false;
            for (const u of unwritten) uncertain.add(u); // the power went before the task ended
            unwritten.clear();
            log = new OutboxLog(storage, { ...options, onEvent: track });
            const loaded = log.load();
            for (const l of loaded) {
              if (model.has(l.seq)) assert.deepEqual(l, model.get(l.seq), `seed ${seed} step ${step}`);
              else if (uncertain.has(l.seq)) model.set(l.seq, l);
              else assert.ok(false, `seed ${seed} step ${step}: event ${l.seq} came back`);
            }
            for (const seq of model.keys()) assert.ok(loaded.some((l) => l.seq === seq), `seed ${seed} step ${step}: event ${seq} lost`);
            uncertain.clear();
            next = loaded.length > 0 ? loaded[loaded.length - 1]!.seq + 1 : 1;
          }
        }
      }
    });
  }

  describe("acknowledgements batched per task (the default)", () => {
    it("writes a task's acknowledgements in one append when the task ends", async () => {
      const storage = new MemoryRecordStorage();
      const { log } = open(storage);
      for (let s = 1; s <= 5; s++) log.append(rec(s));
      const before = storage.appends;
      for (const s of [2, 4, 1]) log.remove(s);
      assert.deepEqual(seqs(log.load()), [3, 5], "gone from the live set at once");
      assert.equal(storage.appends, before, "nothing written yet");
      await flush();
      assert.equal(storage.appends, before + 1, "one append");
      assert.equal(storage.appendedBytes, 5 * encodeEventFrame(rec(1)).length + 3 * FRAME_OVERHEAD);
      assert.deepEqual(seqs(open(storage).log.load()), [3, 5]);
      await flush();
      assert.equal(storage.appends, before + 1, "no empty append later");
    });

    it("flush() writes them at once; more than a segment holds go in one append per segment", () => {
      const storage = new MemoryRecordStorage();
      const segmentBytes = 8 * FRAME_OVERHEAD;
      const { log } = open(storage, { segmentBytes, maxSegments: 64, maxRecords: 100 });
      for (let s = 1; s <= 20; s++) log.append(rec(s, { body: "x", properties: {} }));
      const before = storage.appends;
      for (let s = 1; s <= 20; s++) log.remove(s);
      log.flush();
      assert.equal(storage.appends - before <= 3, true, `20 acknowledgements of 12 B in segments of ${segmentBytes} B: ${storage.appends - before} appends`);
      assert.deepEqual(open(storage, { segmentBytes }).log.load(), []);
    });

    it("writes no acknowledgement for an event whose segment was erased meanwhile", () => {
      const storage = new MemoryRecordStorage();
      const frame = encodeEventFrame(rec(1)).length;
      const { log } = open(storage, { segmentBytes: frame * 2 });
      for (let s = 1; s <= 3; s++) log.append(rec(s)); // ob1: 1, 2; ob2: 3
      log.remove(1);
      log.remove(2); // ob1 holds nothing live
      log.append(rec(4)); // ob2: 3, 4 (full)
      log.append(rec(5)); // the rollover to ob3 compacts ob1 away before its acknowledgements are written
      assert.equal(storage.names().includes("ob1"), false);
      const bytes = storage.appendedBytes;
      log.flush();
      assert.equal(storage.appendedBytes, bytes, "nothing to write: the events went with their segment");
      assert.deepEqual(seqs(open(storage).log.load()), [3, 4, 5]);
    });

    it("after a power loss before the task ended, those events are simply still there (sent again, same ids)", () => {
      const storage = new MemoryRecordStorage();
      const { log } = open(storage);
      for (const s of [1, 2, 3]) log.append(rec(s));
      log.remove(1);
      log.remove(2);
      storage.crashAfter(0);
      log.flush(); // never throws: reported
      storage.reboot();
      assert.deepEqual(open(storage).log.load(), [rec(1), rec(2), rec(3)]);
    });

    it("drains 300 PUBACKs of one read with one write under the TelemetryOutbox", async () => {
      const storage = new MemoryRecordStorage();
      const clock = new ManualClock();
      const outbox = new TelemetryOutbox({ store: new OutboxLog(storage), clock, logger: scoped(silentLogger, "o"), window: 300, capacity: 300, idPrefix: "d" });
      for (let i = 0; i < 300; i++) outbox.enqueue(`{"n":${i}}`);
      const acks: Array<() => void> = [];
      outbox.attach(() => new Promise<void>((resolve) => acks.push(resolve)));
      await flush();
      assert.equal(acks.length, 300, "all in flight");
      const before = storage.appends;
      for (const ack of acks) ack(); // the PUBACKs of one TCP read
      await flush();
      await flush();
      assert.equal(outbox.depth, 0);
      assert.equal(storage.appends - before, 1, "one append for 300 acknowledgements");
      assert.equal(new TelemetryOutbox({ store: new OutboxLog(storage), clock, logger: scoped(silentLogger, "o"), window: 1, capacity: 300, idPrefix: "e" }).depth, 0);
    });
  });

  it("refuses an event larger than a segment, storing nothing", () => {
    const storage = new MemoryRecordStorage();
    const { log } = open(storage, { segmentBytes: 128 });
    assert.throws(() => log.append(rec(1, { body: "x".repeat(200) })), RangeError);
    assert.deepEqual(log.load(), []);
    assert.equal(storage.appends, 0);
  });

  it("does not crash on a power loss at any byte of a longer run; every acknowledged-as-stored event survives", () => {
    const clean = new MemoryRecordStorage();
    const plan = (log: OutboxLog, stored: Set<number>, acked: Set<number>): void => {
      for (let s = 1; s <= 12; s++) {
        log.append(rec(s));
        stored.add(s);
        if (s % 2 === 0) {
          log.remove(s - 1);
          acked.add(s - 1);
        }
      }
    };
    plan(open(clean, { segmentBytes: 512, maxSegments: 4 }).log, new Set(), new Set());
    const total = clean.appendedBytes;
    for (let crashAt = 0; crashAt < total; crashAt += 7) {
      const storage = new MemoryRecordStorage();
      const { log } = open(storage, { segmentBytes: 512, maxSegments: 4 });
      log.load();
      storage.crashAfter(crashAt, crashAt % 2 ? 0xff : undefined);
      const stored = new Set<number>();
      const acked = new Set<number>();
      try {
        plan(log, stored, acked);
      } catch (error) {
        assert.ok(error instanceof PowerLossError, String(error));
      }
      storage.reboot();
      const after = seqs(open(storage, { segmentBytes: 512, maxSegments: 4 }).log.load());
      for (const s of stored) if (!acked.has(s)) assert.ok(after.includes(s), `event ${s} lost after a crash at byte ${crashAt}`);
      for (const s of after) assert.ok(stored.has(s) || s === stored.size + 1, `event ${s} appeared from nowhere`);
    }
  });

  it("works as the TelemetryOutbox's store: events survive a restart and are sent again, then cleared by PUBACK", async () => {
    const storage = new MemoryRecordStorage();
    const clock = new ManualClock();
    const mk = (prefix: string) => new TelemetryOutbox({ store: new OutboxLog(storage), clock, logger: scoped(silentLogger, "o"), window: 2, capacity: 3, idPrefix: prefix });
    const first = mk("a");
    const events: OutboxEvent[] = [];
    first.onEvent((e) => events.push(e));
    const ids = ["1", "2", "3", "4"].map((b) => first.enqueue(b).id);
    assert.deepEqual(ids, ["a-1", "a-2", "a-3", "a-4"]);
    assert.equal(events.filter((e) => e.type === "dropped").length, 1, "capacity 3: the oldest dropped");

    await flush(); // the task ends: the acknowledgement of the dropped event is written
    const second = mk("b"); // a reboot: the outbox reloads from flash
    assert.equal(second.depth, 3);
    const sent: OutboxRecord[] = [];
    second.attach((record) => {
      sent.push(record);
      return Promise.resolve();
    });
    await flush();
    await flush();
    assert.deepEqual(sent.map((r) => r.id), ["a-2", "a-3", "a-4"], "original ids, oldest first");
    assert.deepEqual(sent.map((r) => r.createdAt), [clock.now(), clock.now(), clock.now()]);
    assert.equal(second.enqueue("5").id, "b-5", "numbering continues after the stored events");
    await flush();
    await flush();
    assert.equal(mk("c").depth, 0, "PUBACKs reached flash");
  });
});
