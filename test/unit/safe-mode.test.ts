import assert from "../support/assert";
import { BOOT_COUNT_KEY, BootCounter } from "../../src/boot/boot-counter";
import { SAFE_MODE_KEY, SafeMode, type HubLink, type SafeModeStatus } from "../../src/boot/safe-mode";
import { MemoryStore, type KeyValueStore } from "../../src/ports/storage";
import { ManualClock } from "../support/manual-clock";

/** One power cycle: a fresh SafeMode over the same flash. */
function boot(store: KeyValueStore, clock = new ManualClock()) {
  const safe = new SafeMode({ store, clock, threshold: 3, stableMs: 5 * 60_000 });
  const active = safe.begin();
  return { safe, clock, active };
}

/** A MemoryStore that counts its writes (set and delete: each is a flash write on the device). */
class CountingStore extends MemoryStore {
  writes: string[] = [];
  override set(key: string, value: string): void {
    this.writes.push(`set ${key}`);
    super.set(key, value);
  }
  override delete(key: string): void {
    this.writes.push(`delete ${key}`);
    super.delete(key);
  }
}

class FakeHub implements HubLink {
  private listener: ((s: { state: string }) => void) | undefined;
  onStatus(listener: (s: { state: string }) => void): () => void {
    this.listener = listener;
    return () => (this.listener = undefined);
  }
  set(state: string): void {
    this.listener?.({ state });
  }
}

describe("BootCounter", () => {
  it("counts boots across restarts and resets once the hub is reached", () => {
    const store = new MemoryStore();
    assert.equal(new BootCounter(store).begin(), 1);
    assert.equal(new BootCounter(store).begin(), 2);
    const third = new BootCounter(store);
    assert.equal(third.begin(), 3);
    assert.equal(third.begin(), 3, "once per boot");
    third.reset();
    assert.equal(third.count, 0);
    assert.equal(store.get(BOOT_COUNT_KEY), undefined);
    assert.equal(new BootCounter(store).begin(), 1);
  });

  it("stops counting (and writing) at its cap: a boot loop does not write the counter on every boot", () => {
    const store = new CountingStore();
    for (let i = 1; i <= 4; i++) assert.equal(new BootCounter(store, undefined, undefined, 4).begin(), i);
    assert.equal(store.writes.length, 4);
    for (let i = 0; i < 10; i++) assert.equal(new BootCounter(store, undefined, undefined, 4).begin(), 4);
    assert.equal(store.writes.length, 4, "no write once at the cap");
    store.set(BOOT_COUNT_KEY, JSON.stringify({ v: 1, n: 9 })); // e.g. counted by older firmware without a cap
    assert.equal(new BootCounter(store, undefined, undefined, 4).begin(), 4);
    assert.equal(store.get(BOOT_COUNT_KEY), JSON.stringify({ v: 1, n: 4 }));
    assert.throws(() => new BootCounter(store, undefined, undefined, 0), RangeError);
  });

  it("starts from 0 on an unusable record and survives a failing store", () => {
    const store = new MemoryStore();
    store.set(BOOT_COUNT_KEY, "{garbage");
    const problems: string[] = [];
    assert.equal(new BootCounter(store, (m) => problems.push(m)).begin(), 1);
    assert.equal(problems.length, 1);
    const broken: KeyValueStore = {
      get: () => {
        throw new Error("flash");
      },
      set: () => {
        throw new Error("flash");
      },
      delete: () => {
        throw new Error("flash");
      },
    };
    const counter = new BootCounter(broken, (m) => problems.push(m));
    assert.equal(counter.begin(), 1);
    counter.reset();
    assert.equal(problems.length, 4);
  });
});

describe("SafeMode", () => {
  it("enters safe mode after `threshold` boots in a row that never reached the hub", () => {
    const store = new MemoryStore();
    for (let i = 1; i <= 3; i++) assert.equal(boot(store).active, false, `boot ${i}`);
    const fourth = boot(store);
    assert.equal(fourth.active, true);
    assert.equal(fourth.safe.status.failedBoots, 4);
    assert.match(fourth.safe.status.reason ?? "", /3 boots in a row/);
    assert.ok(store.get(SAFE_MODE_KEY) !== undefined);
  });

  it("a boot that reaches the hub resets the count: no safe mode", () => {
    const store = new MemoryStore();
    boot(store);
    boot(store);
    const third = boot(store);
    third.safe.hubReached();
    assert.equal(third.safe.status.failedBoots, 0);
    for (let i = 0; i < 3; i++) assert.equal(boot(store).active, false);
  });

  it("stays in safe mode across a restart until the hub stayed connected for stableMs, then reports leaving", async () => {
    const store = new MemoryStore();
    for (let i = 0; i < 3; i++) boot(store);
    let b = boot(store);
    assert.ok(b.active);
    b.safe.hubReached();
    await b.clock.advance(60_000); // restarted before the stable time: still safe next boot
    b = boot(store);
    assert.ok(b.active, "persisted");
    assert.equal(b.safe.status.failedBoots, 1);

    const hub = new FakeHub();
    const changes: SafeModeStatus[] = [];
    b.safe.onChange((s) => changes.push(s));
    b.safe.follow(hub);
    hub.set("connected");
    assert.equal(b.safe.status.leavesAtMs, b.clock.monotonic() + 5 * 60_000);
    await b.clock.advance(4 * 60_000);
    hub.set("waiting"); // lost: the wait starts again
    assert.equal(b.safe.status.leavesAtMs, undefined);
    await b.clock.advance(10 * 60_000);
    assert.ok(b.safe.active);
    hub.set("connected");
    await b.clock.advance(5 * 60_000);
    assert.equal(b.safe.active, false);
    assert.equal(changes[changes.length - 1]!.active, false);
    assert.equal(store.get(SAFE_MODE_KEY), undefined);
    assert.equal(store.get(BOOT_COUNT_KEY), undefined);
    assert.equal(boot(store).active, false);
  });

  it("a boot after a commanded reboot counts only if it does not reach the hub; two flash writes per good boot", () => {
    const store = new CountingStore();
    // A boot that reaches the hub and is then rebooted by command, many times over: never safe mode.
    for (let i = 0; i < 10; i++) {
      const b = boot(store);
      assert.equal(b.active, false, `boot ${i + 1}`);
      assert.equal(b.safe.status.failedBoots, 1, "this boot, until the hub is reached");
      b.safe.hubReached();
      assert.equal(b.safe.status.failedBoots, 0);
      assert.equal(store.get(BOOT_COUNT_KEY), undefined, "cleared before the commanded restart");
    }
    assert.deepEqual(store.writes.slice(0, 2), [`set ${BOOT_COUNT_KEY}`, `delete ${BOOT_COUNT_KEY}`]);
    assert.equal(store.writes.length, 20);
    // The boot after the last commanded reboot does not reach the hub: it counts, and so do the ones after it.
    assert.equal(boot(store).safe.status.failedBoots, 1);
    assert.equal(boot(store).safe.status.failedBoots, 2);
    assert.equal(boot(store).safe.status.failedBoots, 3);
    assert.equal(boot(store).active, true, "threshold 3: the fourth boot enters safe mode");
  });

  it("in a boot loop in safe mode the counter is no longer written on every boot", () => {
    const store = new CountingStore();
    for (let i = 0; i < 4; i++) boot(store);
    assert.ok(boot(store).active);
    const writes = store.writes.length;
    for (let i = 0; i < 20; i++) {
      const b = boot(store);
      assert.equal(b.active, true);
      assert.equal(b.safe.status.failedBoots, 4, "counted up to threshold + 1");
    }
    assert.equal(store.writes.length, writes, "no flash write per boot");
  });

  it("an unreadable safe-mode record keeps the device in safe mode", () => {
    const store = new MemoryStore();
    store.set(SAFE_MODE_KEY, "not json");
    assert.equal(boot(store).active, true);
  });

  it("refuses a bad threshold", () => {
    assert.throws(() => new SafeMode({ store: new MemoryStore(), clock: new ManualClock(), threshold: 0 }), RangeError);
  });
});
