import assert from "../support/assert";
import { MemoryOutboxStore, TelemetryOutbox, type OutboxEvent, type OutboxRecord } from "../../src/azure/telemetry-outbox";
import { scoped, silentLogger } from "../../src/ports/logger";
import { ManualClock, flush } from "../support/manual-clock";

interface Flight {
  record: OutboxRecord;
  ack(): void;
  fail(): void;
}

function setup(window = 3, capacity = 100, store = new MemoryOutboxStore(), bytes?: { budget: number; cost?: (r: OutboxRecord) => number }) {
  const clock = new ManualClock();
  const outbox = new TelemetryOutbox({
    store,
    clock,
    logger: scoped(silentLogger, "o"),
    window,
    capacity,
    idPrefix: "boot",
    ...(bytes ? { inFlightBytes: bytes.budget, ...(bytes.cost ? { cost: bytes.cost } : {}) } : {}),
  });
  const events: OutboxEvent[] = [];
  outbox.onEvent((e) => events.push(e));
  let flights: Flight[] = [];
  const attach = (): void => {
    flights = [];
    outbox.attach(
      (record) =>
        new Promise<void>((resolve, reject) => {
          flights.push({ record, ack: resolve, fail: () => reject(new Error("connection lost")) });
        }),
    );
  };
  return { clock, outbox, store, events, attach, flights: () => flights };
}

describe("TelemetryOutbox", () => {
  it("gives each record a unique message id and the device time of recording", () => {
    const t = setup();
    const a = t.outbox.enqueue('{"n":1}');
    const b = t.outbox.enqueue('{"n":2}', { button: "2" });
    assert.equal(a.id, "boot-1");
    assert.equal(b.id, "boot-2");
    assert.equal(a.createdAt, t.clock.now());
    assert.deepEqual(b.properties, { button: "2" });
    assert.equal(t.store.load().length, 2, "stored before enqueue returns");
  });

  it("keeps at most `window` messages in flight, in order", async () => {
    const t = setup(3);
    for (let i = 1; i <= 5; i++) t.outbox.enqueue(`${i}`);
    t.attach();
    assert.deepEqual(t.flights().map((f) => f.record.body), ["1", "2", "3"]);
    assert.equal(t.outbox.inFlightCount, 3);
    t.flights()[1]!.ack();
    await flush();
    assert.deepEqual(t.flights().map((f) => f.record.body), ["1", "2", "3", "4"]);
    assert.equal(t.outbox.depth, 4);
  });

  it("removes a record only on PUBACK", async () => {
    const t = setup(2);
    t.outbox.enqueue("a");
    t.attach();
    assert.equal(t.outbox.depth, 1);
    t.flights()[0]!.ack();
    await flush();
    assert.equal(t.outbox.depth, 0);
    assert.equal(t.store.load().length, 0);
    assert.deepEqual(t.events.map((e) => e.type), ["queued", "sent", "delivered"]);
  });

  it("re-sends everything unacknowledged, oldest first, with the same ids after a reconnect", async () => {
    const t = setup(3);
    for (let i = 1; i <= 4; i++) t.outbox.enqueue(`${i}`);
    t.attach();
    t.flights()[0]!.ack();
    await flush();
    for (const f of t.flights()) f.fail();
    t.outbox.detach();
    await flush();
    t.outbox.enqueue("5");
    assert.equal(t.outbox.inFlightCount, 0, "nothing is sent while detached");
    t.attach();
    assert.deepEqual(t.flights().map((f) => f.record.id), ["boot-2", "boot-3", "boot-4"]);
    for (const f of t.flights()) f.ack();
    await flush();
    await flush();
    assert.deepEqual(t.flights().map((f) => f.record.id), ["boot-2", "boot-3", "boot-4", "boot-5"]);
  });

  it("counts a PUBACK that arrives after the session was replaced as delivery", async () => {
    const t = setup(1);
    t.outbox.enqueue("a");
    t.attach();
    const old = t.flights()[0]!;
    t.outbox.detach();
    old.ack();
    await flush();
    assert.equal(t.outbox.depth, 0);
  });

  it("hold(): sends nothing new, in-flight PUBACKs still count, everything else waits for the next attach", async () => {
    const t = setup(2);
    for (const n of ["1", "2", "3"]) t.outbox.enqueue(n);
    t.attach();
    t.outbox.hold();
    t.outbox.enqueue("4");
    t.flights()[0]!.ack();
    await flush();
    assert.deepEqual(t.flights().map((f) => f.record.body), ["1", "2"], "no new send while held");
    assert.equal(t.outbox.inFlightCount, 1);
    assert.equal(t.outbox.depth, 3);
    t.attach();
    assert.deepEqual(t.flights().map((f) => f.record.body), ["2", "3"], "the next session sends again, oldest first");
  });

  it("drops the oldest when full and reports how many were dropped", () => {
    const t = setup(1, 3);
    for (let i = 1; i <= 5; i++) t.outbox.enqueue(`${i}`);
    assert.deepEqual(t.store.load().map((r) => r.body), ["3", "4", "5"]);
    assert.equal(t.outbox.dropped, 2);
    const drops = t.events.filter((e) => e.type === "dropped");
    assert.deepEqual(drops.map((e) => (e.type === "dropped" ? [e.record.body, e.totalDropped] : [])), [["1", 1], ["2", 2]]);
  });

  it("reopens from its store and continues the sequence", () => {
    const store = new MemoryOutboxStore();
    const first = setup(2, 10, store);
    first.outbox.enqueue("a");
    first.outbox.enqueue("b");
    const second = setup(2, 10, store);
    assert.equal(second.outbox.depth, 2);
    const c = second.outbox.enqueue("c");
    assert.equal(c.seq, 3);
    second.attach();
    assert.deepEqual(second.flights().map((f) => f.record.body), ["a", "b"]);
  });

  it("refuses a window below 1 or a capacity below the window", () => {
    assert.throws(() => setup(0), RangeError);
    assert.throws(() => setup(5, 4), /capacity/);
    assert.throws(() => setup(5, 10, new MemoryOutboxStore(), { budget: 0 }), /inFlightBytes/);
  });
});

describe("TelemetryOutbox byte budget", () => {
  /** Cost = the body's length, so a test states sizes directly. */
  const byBody = (budget: number) => ({ budget, cost: (r: OutboxRecord) => r.body.length });

  it("keeps no more bytes in flight than the budget, in order: a record that does not fit waits, and all behind it", () => {
    const t = setup(100, 100, new MemoryOutboxStore(), byBody(10));
    for (const body of ["aaaa", "bbbb", "ccc", "d"]) t.outbox.enqueue(body);
    t.attach();
    assert.deepEqual(t.flights().map((f) => f.record.body), ["aaaa", "bbbb"], "8 of 10 bytes; the 3-byte record does not fit");
    assert.equal(t.outbox.inFlightBytes, 8);
    assert.equal(t.outbox.inFlightCount, 2, "the 1-byte record behind it does not jump the queue");
  });

  it("a PUBACK frees its bytes and the next records go out at once", async () => {
    const t = setup(100, 100, new MemoryOutboxStore(), byBody(10));
    for (const body of ["aaaa", "bbbb", "ccc", "dd", "eee"]) t.outbox.enqueue(body);
    t.attach();
    t.flights()[1]!.ack(); // "bbbb" first: PUBACKs need not come in order
    await flush();
    assert.deepEqual(t.flights().map((f) => f.record.body), ["aaaa", "bbbb", "ccc", "dd"], "4 + 3 + 2 in flight; 3 more would be 12");
    assert.equal(t.outbox.inFlightBytes, 9);
    t.flights()[0]!.ack();
    await flush();
    assert.deepEqual(t.flights().map((f) => f.record.body), ["aaaa", "bbbb", "ccc", "dd", "eee"]);
    assert.equal(t.outbox.inFlightBytes, 8);
  });

  it("a record larger than the whole budget still goes, alone", async () => {
    const t = setup(100, 100, new MemoryOutboxStore(), byBody(10));
    for (const body of ["x".repeat(25), "a", "b"]) t.outbox.enqueue(body);
    t.attach();
    assert.deepEqual(t.flights().map((f) => f.record.body.length), [25], "nothing rides along with it");
    t.flights()[0]!.ack();
    await flush();
    assert.deepEqual(t.flights().map((f) => f.record.body), ["x".repeat(25), "a", "b"]);
    assert.equal(t.outbox.inFlightBytes, 2);
  });

  it("the count cap still applies when the bytes would fit", () => {
    const t = setup(2, 100, new MemoryOutboxStore(), byBody(1000));
    for (const body of ["a", "b", "c"]) t.outbox.enqueue(body);
    t.attach();
    assert.equal(t.outbox.inFlightCount, 2);
  });

  it("a broken session frees the bytes of what it had in flight; the next attach sends from the oldest again", async () => {
    const t = setup(100, 100, new MemoryOutboxStore(), byBody(10));
    for (const body of ["aaaa", "bbbb", "ccc"]) t.outbox.enqueue(body);
    t.attach();
    for (const f of t.flights()) f.fail();
    await flush();
    assert.equal(t.outbox.inFlightBytes, 0);
    t.outbox.detach();
    t.attach();
    assert.deepEqual(t.flights().map((f) => f.record.body), ["aaaa", "bbbb"]);
    assert.equal(t.outbox.inFlightBytes, 8);
  });

  it("a late PUBACK from a replaced session frees the record's bytes in the new one", async () => {
    const t = setup(100, 100, new MemoryOutboxStore(), byBody(10));
    for (const body of ["aaaa", "bbbb", "cccc"]) t.outbox.enqueue(body);
    t.attach();
    const old = t.flights()[0]!;
    t.outbox.detach();
    t.attach(); // "aaaa" and "bbbb" again
    old.ack(); // the old session's PUBACK for "aaaa" still proves delivery
    await flush();
    assert.equal(t.outbox.depth, 2);
    assert.deepEqual(t.flights().slice(2).map((f) => f.record.body), ["cccc"], "its bytes were freed: the next one went");
    assert.equal(t.outbox.inFlightBytes, 8);
  });

  it("never exceeds the budget (unless one record alone) and delivers everything in order, over random sizes and PUBACK orders", async () => {
    let seed = 7;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const t = setup(50, 1000, new MemoryOutboxStore(), byBody(64));
    const delivered: string[] = [];
    t.outbox.onEvent((e) => {
      if (e.type === "delivered") delivered.push(e.record.body);
    });
    const bodies: string[] = [];
    for (let i = 0; i < 300; i++) {
      const body = `${i}:`.padEnd(1 + rnd(i % 37 === 0 ? 100 : 30), "z");
      bodies.push(body);
      t.outbox.enqueue(body);
    }
    t.attach();
    const sentOrder: string[] = [];
    let seen = 0;
    while (delivered.length < bodies.length) {
      const flights = t.flights();
      for (; seen < flights.length; seen++) sentOrder.push(flights[seen]!.record.body);
      const open = flights.filter((f) => t.outbox.depth > 0 && !delivered.includes(f.record.body));
      assert.ok(open.length > 0, "something is in flight while records wait");
      assert.ok(t.outbox.inFlightBytes <= 64 || t.outbox.inFlightCount === 1, `in flight ${t.outbox.inFlightBytes} B in ${t.outbox.inFlightCount}`);
      open[rnd(open.length)]!.ack();
      await flush();
    }
    assert.deepEqual(sentOrder, bodies, "sent in the order recorded, each once");
    assert.equal(t.outbox.inFlightBytes, 0);
  });
});
