import assert from "../support/assert";
import { MemoryStore } from "../../src/ports/storage";
import { Listeners } from "../../src/core/listeners";
import { NotJoinedWatch, SETUP_REQUEST_KEY, requestSetupAtBoot, takeSetupRequest } from "../../src/setup/setup-request";
import { SetupMode } from "../../src/setup/setup-mode";
import { FACTORY_RESET_KEYS, eraseKeys } from "../../src/device/factory-reset";
import { ManualClock } from "../support/manual-clock";

const MIN = 60_000;

function station() {
  const listeners = new Listeners<{ state: string }>(() => undefined);
  return { onStatus: (l: (s: { state: string }) => void) => listeners.add(l), emit: (state: string) => listeners.emit({ state }), count: () => listeners.size };
}

function watch(notJoinedMs = 10 * MIN) {
  const clock = new ManualClock();
  const store = new MemoryStore();
  const st = station();
  const restarts: string[] = [];
  const w = new NotJoinedWatch({ clock, store, station: st, notJoinedMs, restart: (reason) => restarts.push(reason) });
  return { clock, store, station: st, restarts, watch: w };
}

describe("setup request (not joined → setup mode at the next boot)", () => {
  it("is read once: the boot that takes it deletes it", () => {
    const store = new MemoryStore();
    assert.equal(takeSetupRequest(store), undefined);
    requestSetupAtBoot(store, "not-joined");
    assert.equal(store.get(SETUP_REQUEST_KEY), "not-joined");
    assert.equal(takeSetupRequest(store), "not-joined");
    assert.equal(store.get(SETUP_REQUEST_KEY), undefined);
    assert.equal(takeSetupRequest(store), undefined);
  });

  it("an unknown value reads as no request and is deleted too", () => {
    const store = new MemoryStore();
    store.set(SETUP_REQUEST_KEY, "gesture");
    assert.equal(takeSetupRequest(store), undefined);
    assert.equal(store.get(SETUP_REQUEST_KEY), undefined);
  });

  it("a factory reset erases a pending request (the reset device enters setup mode for want of credentials anyway)", () => {
    assert.ok(FACTORY_RESET_KEYS.includes(SETUP_REQUEST_KEY));
    const store = new MemoryStore();
    requestSetupAtBoot(store, "not-joined");
    assert.deepEqual(eraseKeys(store), []);
    assert.equal(takeSetupRequest(store), undefined);
  });

  it("SetupMode enters with reason not-joined from a request, and its idle timeout goes back (credentials exist)", async () => {
    const clock = new ManualClock();
    const mode = new SetupMode({ clock, idleTimeoutMs: 15 * MIN });
    const events: string[] = [];
    mode.onChange((e) => events.push(e.type === "entered" ? `entered:${e.reason}` : `ended:${e.end}:${e.reason}`));
    mode.start({ hasCredentials: true, gesture: false, request: "not-joined" });
    assert.equal(mode.active, "not-joined");
    await clock.advance(15 * MIN);
    assert.deepEqual(events, ["entered:not-joined", "ended:timeout:not-joined"]);
  });

  it("no credentials outranks the request (nothing to go back to)", () => {
    const mode = new SetupMode({ clock: new ManualClock() });
    mode.start({ hasCredentials: false, gesture: false, request: "not-joined" });
    assert.equal(mode.active, "no-credentials");
  });
});

describe("NotJoinedWatch", () => {
  it("never joined for 10 minutes: stores the request, then restarts once", async () => {
    const t = watch();
    t.watch.start();
    t.station.emit("scanning");
    await t.clock.advance(10 * MIN - 1);
    assert.deepEqual(t.restarts, []);
    assert.equal(t.store.get(SETUP_REQUEST_KEY), undefined);
    await t.clock.advance(1);
    assert.equal(t.restarts.length, 1);
    assert.match(t.restarts[0]!, /not joined for 10 min/);
    assert.equal(t.store.get(SETUP_REQUEST_KEY), "not-joined");
    await t.clock.advance(60 * MIN);
    assert.equal(t.restarts.length, 1);
  });

  it("joined in time: no request; a later loss counts from the loss", async () => {
    const t = watch(5 * MIN);
    t.watch.start();
    await t.clock.advance(4 * MIN);
    t.station.emit("connected");
    await t.clock.advance(30 * MIN);
    assert.deepEqual(t.restarts, []);
    t.station.emit("waiting");
    t.station.emit("joining"); // every status on the way counts from the first loss, not from the latest
    await t.clock.advance(5 * MIN - 1);
    t.station.emit("scanning");
    assert.deepEqual(t.restarts, []);
    await t.clock.advance(1);
    assert.equal(t.restarts.length, 1);
  });

  it("stop() ends the count and unsubscribes", async () => {
    const t = watch(MIN);
    t.watch.start();
    assert.equal(t.station.count(), 1);
    t.watch.stop();
    assert.equal(t.station.count(), 0);
    await t.clock.advance(10 * MIN);
    assert.deepEqual(t.restarts, []);
  });

  it("a store that cannot keep the request: no restart (it would only repeat the wait), the station keeps trying", async () => {
    const t = watch(MIN);
    const broken = Object.assign(Object.create(t.store) as MemoryStore, {
      set: () => {
        throw new Error("nvs full");
      },
    });
    const restarts: string[] = [];
    const w = new NotJoinedWatch({ clock: t.clock, store: broken, station: t.station, notJoinedMs: MIN, restart: (r) => restarts.push(r) });
    w.start();
    await t.clock.advance(2 * MIN);
    assert.deepEqual(restarts, []);
  });
});
