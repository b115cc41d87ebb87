import assert from "../support/assert";
import { MemoryOutboxStore, TelemetryOutbox, type OutboxEvent, type OutboxRecord } from "../../src/azure/telemetry-outbox";
import { scoped, silentLogger } from "../../src/ports/logger";
import { ManualClock, flush } from "../support/manual-clock";

interface Flight {
  record: OutboxRecord;
  ack(): void;
  fail(): void;
}

function setup(window = 3, capacity = 100, store = new MemoryOutboxStore()) {
  const clock = new ManualClock();
  const outbox = new TelemetryOutbox({ store, clock, logger: scoped(silentLogger, "o"), window, capacity, idPrefix: "boot" });
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
  });
});
