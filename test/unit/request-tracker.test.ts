import assert from "../support/assert";
import { RequestTimeoutError, RequestTracker } from "../../src/azure/request-tracker";
import { ManualClock } from "../support/manual-clock";

describe("RequestTracker ($rid correlation)", () => {
  it("resolves the request whose id matches and ignores unknown ids", async () => {
    const clock = new ManualClock();
    const t = new RequestTracker<string>(clock, "twin");
    const a = t.create(1000);
    const b = t.create(1000);
    assert.notEqual(a.rid, b.rid);
    assert.equal(t.resolve("nope", "x"), false);
    assert.equal(t.resolve(b.rid, "B"), true);
    assert.equal(t.resolve(a.rid, "A"), true);
    assert.equal(await a.response, "A");
    assert.equal(await b.response, "B");
    assert.equal(t.size, 0);
    assert.equal(clock.timerCount, 0, "timers are cancelled on completion");
  });

  it("times out after exactly the configured time", async () => {
    const clock = new ManualClock();
    const t = new RequestTracker<string>(clock, "twin");
    const r = t.create(500);
    let outcome = "pending";
    r.response.then(
      () => (outcome = "resolved"),
      (e: unknown) => (outcome = e instanceof RequestTimeoutError ? "timeout" : "other"),
    );
    await clock.advance(499);
    assert.equal(outcome, "pending");
    await clock.advance(1);
    assert.equal(outcome, "timeout");
    assert.equal(t.resolve(r.rid, "late"), false, "a late reply completes nothing");
  });

  it("never reuses an id, so a late reply cannot complete a newer request", async () => {
    const clock = new ManualClock();
    const t = new RequestTracker<string>(clock, "twin");
    const first = t.create(10);
    first.response.catch(() => undefined);
    await clock.advance(10);
    const second = t.create(10);
    assert.notEqual(second.rid, first.rid);
    assert.equal(t.resolve(first.rid, "stale"), false);
  });

  it("rejects everything pending on rejectAll", async () => {
    const clock = new ManualClock();
    const t = new RequestTracker<number>(clock, "twin");
    const rs = [t.create(100), t.create(100)];
    t.rejectAll(new Error("disconnected"));
    for (const r of rs) await assert.rejects(r.response, /disconnected/);
    assert.equal(clock.timerCount, 0);
  });
});
