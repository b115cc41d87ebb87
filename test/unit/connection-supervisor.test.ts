import assert from "../support/assert";
import { ConnectionSupervisor, type Link, type LinkStatus } from "../../src/azure/connection-supervisor";
import { scoped, silentLogger } from "../../src/ports/logger";
import { ManualClock, SequenceRandom, flush } from "../support/manual-clock";

/** A link whose attempts the test completes by hand. */
class ScriptedLink implements Link {
  attempts: Array<{ resolve(): void; reject(e: Error): void; lose(reason: string): void; closed: boolean }> = [];
  open(onLost: (reason: string) => void): Promise<{ close(): void }> {
    return new Promise((resolve, reject) => {
      const entry = {
        closed: false,
        resolve: () => resolve({ close: () => (entry.closed = true) }),
        reject,
        lose: (reason: string) => onLost(reason),
      };
      this.attempts.push(entry);
    });
  }
  get last() {
    return this.attempts[this.attempts.length - 1]!;
  }
}

function setup(ready?: () => boolean) {
  const clock = new ManualClock();
  const link = new ScriptedLink();
  const sup = new ConnectionSupervisor(link, {
    clock,
    random: new SequenceRandom([0.5]),
    logger: scoped(silentLogger, "s"),
    backoff: { initialMs: 1000, maxMs: 8000 },
    attemptTimeoutMs: 5000,
    stableAfterMs: 60_000,
    ...(ready ? { ready } : {}),
  });
  const states: LinkStatus[] = [];
  sup.onStatus((s) => states.push(s));
  return { clock, link, sup, states };
}

describe("ConnectionSupervisor", () => {
  it("connects and reports connected", async () => {
    const t = setup();
    t.sup.start();
    assert.equal(t.sup.status.state, "connecting");
    t.link.last.resolve();
    await flush();
    assert.equal(t.sup.status.state, "connected");
  });

  it("retries failures with growing, jittered delays", async () => {
    const t = setup();
    t.sup.start();
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      t.link.last.reject(new Error("refused"));
      await flush();
      assert.equal(t.sup.status.state, "waiting");
      delays.push(t.sup.status.retryInMs!);
      assert.equal(t.sup.status.lastError, "refused");
      await t.clock.advance(t.sup.status.retryInMs!);
    }
    assert.deepEqual(delays, [500, 1000, 2000, 4000, 4000], "half of min(8000, 1000*2^n) with random 0.5");
    assert.equal(t.link.attempts.length, 6);
  });

  it("does not retry before the backoff delay has passed", async () => {
    const t = setup();
    t.sup.start();
    t.link.last.reject(new Error("x"));
    await flush();
    await t.clock.advance(499);
    assert.equal(t.link.attempts.length, 1);
    await t.clock.advance(1);
    assert.equal(t.link.attempts.length, 2);
  });

  it("reconnects after a loss, resetting the backoff only if the link was stable", async () => {
    const t = setup();
    t.sup.start();
    t.link.last.reject(new Error("a"));
    await flush();
    await t.clock.advance(500);
    t.link.last.reject(new Error("b"));
    await flush();
    await t.clock.advance(1000);
    t.link.last.resolve();
    await flush();
    // Flapping: lost after 10 s, backoff keeps growing.
    await t.clock.advance(10_000);
    t.link.last.lose("reset by peer");
    await flush();
    assert.equal(t.sup.status.retryInMs, 2000);
    assert.equal(t.sup.status.lastError, "connection lost: reset by peer");
    await t.clock.advance(2000);
    t.link.last.resolve();
    await flush();
    // Stable for a minute: the next loss is retried at once, then from the initial delay again.
    await t.clock.advance(60_000);
    t.link.last.lose("broker restart");
    await flush();
    assert.equal(t.sup.status.retryInMs, 0);
    await t.clock.advance(0);
    t.link.last.reject(new Error("c"));
    await flush();
    assert.equal(t.sup.status.retryInMs, 500);
  });

  it("after a stable link drops, attempts at once; a failure then backs off with jitter", async () => {
    const t = setup();
    t.sup.start();
    t.link.last.resolve();
    await flush();
    await t.clock.advance(60_000);
    t.link.last.lose("reset by peer");
    await flush();
    assert.equal(t.sup.status.state, "waiting");
    assert.equal(t.sup.status.retryInMs, 0);
    assert.equal(t.sup.status.failures, 1, "the loss counts as a failure");
    await t.clock.advance(0);
    assert.equal(t.link.attempts.length, 2, "reconnect attempt without any delay");
    assert.equal(t.sup.status.state, "connecting");
    // That attempt fails: the next one waits a jittered delay from the initial ceiling ([0, 1000) ms).
    t.link.last.reject(new Error("refused"));
    await flush();
    assert.equal(t.sup.status.retryInMs, 500, "random 0.5 of the initial ceiling 1000");
    assert.equal(t.sup.status.failures, 2);
    await t.clock.advance(499);
    assert.equal(t.link.attempts.length, 2);
    await t.clock.advance(1);
    assert.equal(t.link.attempts.length, 3);
    t.link.last.reject(new Error("refused"));
    await flush();
    assert.equal(t.sup.status.retryInMs, 1000, "then the ceiling doubles as before");
  });

  it("keeps the jittered first delay within [0, initial ceiling) for any random draw", async () => {
    for (const r of [0, 0.3, 0.999999]) {
      const clock = new ManualClock();
      const link = new ScriptedLink();
      const sup = new ConnectionSupervisor(link, {
        clock,
        random: new SequenceRandom([r]),
        logger: scoped(silentLogger, "s"),
        backoff: { initialMs: 160, maxMs: 10_000 },
        attemptTimeoutMs: 5000,
        stableAfterMs: 60_000,
      });
      sup.start();
      link.last.resolve();
      await flush();
      await clock.advance(60_000);
      link.last.lose("x");
      await flush();
      assert.equal(sup.status.retryInMs, 0);
      await clock.advance(0);
      link.last.reject(new Error("refused"));
      await flush();
      const delay = sup.status.retryInMs!;
      assert.ok(delay >= 0 && delay < 160, `delay ${delay} outside [0, 160)`);
      assert.equal(delay, Math.floor(r * 160));
    }
  });

  it("an unstable link that drops backs off (no immediate retry); after a new stable period, immediate again", async () => {
    const t = setup();
    t.sup.start();
    t.link.last.resolve();
    await flush();
    // Dropped within the stability window: a jittered delay, not an immediate retry.
    await t.clock.advance(59_999);
    t.link.last.lose("accepted and dropped");
    await flush();
    assert.equal(t.sup.status.retryInMs, 500);
    await t.clock.advance(0);
    assert.equal(t.link.attempts.length, 1, "no attempt at once");
    await t.clock.advance(500);
    assert.equal(t.link.attempts.length, 2);
    t.link.last.resolve();
    await flush();
    await t.clock.advance(1000);
    t.link.last.lose("accepted and dropped");
    await flush();
    assert.equal(t.sup.status.retryInMs, 1000, "the backoff keeps growing while flapping");
    await t.clock.advance(1000);
    t.link.last.resolve();
    await flush();
    // Stable again for a minute: the next drop is retried at once.
    await t.clock.advance(60_000);
    t.link.last.lose("broker restart");
    await flush();
    assert.equal(t.sup.status.retryInMs, 0);
    assert.equal(t.sup.status.failures, 1, "the backoff was reset");
    await t.clock.advance(0);
    assert.equal(t.link.attempts.length, 4);
  });

  it("the immediate retry after a stable drop still waits for the precondition", async () => {
    let valid = true;
    const t = setup(() => valid);
    t.sup.start();
    t.link.last.resolve();
    await flush();
    await t.clock.advance(60_000);
    valid = false;
    t.link.last.lose("reset by peer");
    await flush();
    assert.equal(t.sup.status.retryInMs, 0);
    await t.clock.advance(0);
    assert.equal(t.link.attempts.length, 1, "not ready: no attempt");
    assert.match(t.sup.status.lastError!, /not ready/);
    valid = true;
    await t.clock.advance(1000);
    assert.equal(t.link.attempts.length, 2);
  });

  it("abandons an attempt that hangs and closes it if it completes later", async () => {
    const t = setup();
    t.sup.start();
    await t.clock.advance(5000);
    assert.equal(t.sup.status.state, "waiting");
    assert.match(t.sup.status.lastError!, /timed out after 5000 ms/);
    const hung = t.link.attempts[0]!;
    hung.resolve();
    await flush();
    assert.equal(hung.closed, true);
    assert.equal(t.sup.status.state, "waiting");
  });

  it("treats a loss during setup as a failure", async () => {
    const t = setup();
    t.sup.start();
    t.link.last.lose("closed early");
    t.link.last.resolve();
    await flush();
    assert.equal(t.sup.status.state, "waiting");
    assert.match(t.sup.status.lastError!, /during setup: closed early/);
  });

  it("stop closes the link and cancels retries", async () => {
    const t = setup();
    t.sup.start();
    t.link.last.resolve();
    await flush();
    t.sup.stop();
    assert.equal(t.link.last.closed, true);
    assert.equal(t.sup.status.state, "stopped");
    t.link.last.lose("closed by client");
    await t.clock.advance(100_000);
    assert.equal(t.link.attempts.length, 1);
  });

  it("waits while the precondition (a valid clock) is false", async () => {
    let valid = false;
    const t = setup(() => valid);
    t.sup.start();
    await t.clock.advance(10_000);
    assert.equal(t.link.attempts.length, 0, "no connection attempt while not ready");
    valid = true;
    await t.clock.advance(1000);
    assert.equal(t.link.attempts.length, 1);
  });

  it("restart drops the current link and connects again at once", async () => {
    const t = setup();
    t.sup.start();
    t.link.last.resolve();
    await flush();
    const first = t.link.last;
    t.sup.restart("hub assignment changed");
    assert.equal(first.closed, true);
    assert.equal(t.link.attempts.length, 2);
    first.lose("closed by client");
    t.link.last.resolve();
    await flush();
    assert.equal(t.sup.status.state, "connected");
  });
});

describe("ConnectionSupervisor stopped from a status listener", () => {
  it("leaves no retry timer behind when a listener stops it on 'waiting'", async () => {
    const { clock, link, sup } = setup();
    // The boot sequence does this: enough failures → stop the hub link and go back to bootstrap.
    sup.onStatus((s) => s.state === "waiting" && sup.stop());
    sup.start();
    link.last.reject(new Error("refused"));
    await flush();
    assert.equal(sup.status.state, "stopped");
    assert.equal(clock.timerCount, 0, "the retry timer was cancelled");
    await clock.advance(60_000);
    assert.equal(link.attempts.length, 1, "no orphaned retry opens a second connection");
  });
});
