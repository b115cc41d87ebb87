import assert from "../support/assert";
import { SetupMode, type SetupModeEvent } from "../../src/setup/setup-mode";
import { ManualClock } from "../support/manual-clock";

const MIN = 60_000;

function harness(options: { notJoinedMs?: number; idleTimeoutMs?: number } = {}) {
  const clock = new ManualClock();
  const mode = new SetupMode({ clock, ...options });
  const events: string[] = [];
  mode.onChange((e: SetupModeEvent) => events.push(e.type === "entered" ? `entered:${e.reason}` : `ended:${e.end}:${e.reason}`));
  return { clock, mode, events };
}

describe("SetupMode", () => {
  it("enters at once when no Wi-Fi credentials are stored", () => {
    const t = harness();
    t.mode.start({ hasCredentials: false, gesture: false });
    assert.equal(t.mode.active, "no-credentials");
    assert.deepEqual(t.events, ["entered:no-credentials"]);
  });

  it("enters at once after the power-up gesture, even with credentials", () => {
    const t = harness();
    t.mode.start({ hasCredentials: true, gesture: true });
    assert.equal(t.mode.active, "gesture");
  });

  it("enters when the stored network has not been joined for 10 minutes (default)", async () => {
    const t = harness();
    t.mode.start({ hasCredentials: true, gesture: false });
    await t.clock.advance(10 * MIN - 1);
    assert.equal(t.mode.active, undefined);
    await t.clock.advance(1);
    assert.equal(t.mode.active, "not-joined");
  });

  it("a join before the time stops the count; a later loss starts it afresh", async () => {
    const t = harness({ notJoinedMs: 5 * MIN });
    t.mode.start({ hasCredentials: true, gesture: false });
    await t.clock.advance(4 * MIN);
    t.mode.stationJoined();
    await t.clock.advance(30 * MIN);
    assert.equal(t.mode.active, undefined);
    t.mode.stationLost();
    await t.clock.advance(4 * MIN);
    t.mode.stationLost(); // repeated losses (retries) do not restart the count
    await t.clock.advance(MIN);
    assert.equal(t.mode.active, "not-joined");
  });

  it("ends after 15 minutes without a client (default) and counts the not-joined time again", async () => {
    const t = harness({ notJoinedMs: 10 * MIN });
    t.mode.start({ hasCredentials: true, gesture: true });
    await t.clock.advance(10 * MIN);
    t.mode.clientSeen();
    await t.clock.advance(15 * MIN - 1);
    assert.equal(t.mode.active, "gesture", "a client restarts the idle time");
    await t.clock.advance(1);
    assert.equal(t.mode.active, undefined);
    assert.deepEqual(t.events, ["entered:gesture", "ended:timeout:gesture"]);
    await t.clock.advance(10 * MIN);
    assert.equal(t.mode.active, "not-joined", "the stored network still not joined");
  });

  it("without credentials the idle timeout does not end it (nothing to return to)", async () => {
    const t = harness();
    t.mode.start({ hasCredentials: false, gesture: false });
    await t.clock.advance(60 * MIN);
    assert.equal(t.mode.active, "no-credentials");
  });

  it("ends when credentials are saved and joined", async () => {
    const t = harness();
    t.mode.start({ hasCredentials: false, gesture: false });
    t.mode.completed();
    assert.equal(t.mode.active, undefined);
    assert.deepEqual(t.events, ["entered:no-credentials", "ended:joined:no-credentials"]);
    await t.clock.advance(60 * MIN);
    assert.equal(t.clock.timerCount, 0, "joined: nothing counts");
  });

  it("ends when the stored network comes back while it waited for it", async () => {
    const t = harness({ notJoinedMs: MIN });
    t.mode.start({ hasCredentials: true, gesture: false });
    await t.clock.advance(MIN);
    assert.equal(t.mode.active, "not-joined");
    t.mode.stationJoined();
    assert.equal(t.mode.active, undefined);
    assert.deepEqual(t.events, ["entered:not-joined", "ended:joined:not-joined"]);
  });

  it("a gesture session is not ended by the station joining its old network", () => {
    const t = harness();
    t.mode.start({ hasCredentials: true, gesture: true });
    t.mode.stationJoined();
    assert.equal(t.mode.active, "gesture");
  });

  it("stop() leaves no timers; bad options are refused", async () => {
    const t = harness();
    t.mode.start({ hasCredentials: true, gesture: false });
    t.mode.stop();
    assert.equal(t.clock.timerCount, 0);
    assert.throws(() => new SetupMode({ clock: t.clock, notJoinedMs: 0 }), RangeError);
    assert.throws(() => new SetupMode({ clock: t.clock, idleTimeoutMs: 1.5 }), RangeError);
  });
});
