import assert from "../support/assert";
import { Backoff } from "../../src/core/backoff";
import { SeededRandom, SequenceRandom } from "../support/manual-clock";

describe("Backoff (exponential, full jitter)", () => {
  it("doubles the ceiling per attempt up to the maximum", () => {
    const b = new Backoff({ initialMs: 100, maxMs: 1000 }, new SequenceRandom([0.999999]));
    const delays = [1, 2, 3, 4, 5, 6].map(() => b.next());
    assert.deepEqual(delays, [99, 199, 399, 799, 999, 999]);
  });

  it("draws each delay uniformly from [0, ceiling)", () => {
    const b = new Backoff({ initialMs: 1000, maxMs: 1000 }, new SequenceRandom([0, 0.5, 0.25]));
    assert.deepEqual([b.next(), b.next(), b.next()], [0, 500, 250]);
  });

  it("stays within bounds over many draws and actually spreads", () => {
    const b = new Backoff({ initialMs: 50, maxMs: 800, multiplier: 3 }, new SeededRandom(7));
    const seen = new Set<number>();
    for (let i = 0; i < 200; i++) {
      const ceiling = b.ceiling();
      const d = b.next();
      assert.ok(d >= 0 && d < ceiling, `delay ${d} outside [0, ${ceiling})`);
      assert.ok(ceiling <= 800);
      seen.add(d);
    }
    assert.ok(seen.size > 50, "jitter should produce varied delays");
  });

  it("reset starts again from the initial ceiling", () => {
    const b = new Backoff({ initialMs: 10, maxMs: 10_000 }, new SequenceRandom([0.5]));
    b.next();
    b.next();
    b.next();
    assert.equal(b.attempts, 3);
    b.reset();
    assert.equal(b.attempts, 0);
    assert.equal(b.ceiling(), 10);
  });

  it("resetImmediate: the next delay is 0 and counts, then jitter from the initial ceiling", () => {
    const b = new Backoff({ initialMs: 100, maxMs: 10_000 }, new SequenceRandom([0.5]));
    b.next();
    b.next();
    b.resetImmediate();
    assert.equal(b.attempts, 0);
    assert.equal(b.next(), 0);
    assert.equal(b.attempts, 1);
    assert.equal(b.ceiling(), 100, "the free attempt does not grow the ceiling");
    assert.deepEqual([b.next(), b.next(), b.next()], [50, 100, 200]);
    assert.equal(b.attempts, 4);
    b.resetImmediate();
    b.reset();
    assert.equal(b.next(), 50, "a plain reset cancels the immediate attempt");
  });

  it("rejects nonsensical bounds", () => {
    const r = new SeededRandom();
    assert.throws(() => new Backoff({ initialMs: 0, maxMs: 10 }, r), /initialMs/);
    assert.throws(() => new Backoff({ initialMs: 100, maxMs: 10 }, r), RangeError);
    assert.throws(() => new Backoff({ initialMs: 1, maxMs: 10, multiplier: 0.5 }, r), RangeError);
  });
});
