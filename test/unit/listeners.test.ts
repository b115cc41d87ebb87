import assert from "../support/assert";
import { Listeners } from "../../src/core/listeners";

describe("Listeners", () => {
  it("calls listeners in order, contains a throwing one, removes and clears", () => {
    const errors: unknown[] = [];
    const got: string[] = [];
    const l = new Listeners<number>((e) => errors.push(e));
    const offA = l.add((v) => got.push(`a${v}`));
    l.add(() => {
      throw new Error("boom");
    });
    l.add((v) => got.push(`c${v}`));
    l.emit(1);
    assert.deepEqual(got, ["a1", "c1"]);
    assert.equal(errors.length, 1);
    offA();
    offA(); // idempotent
    l.emit(2);
    assert.deepEqual(got, ["a1", "c1", "c2"]);
    assert.equal(l.size, 2);
    l.clear();
    l.emit(3);
    assert.equal(l.size, 0);
    assert.deepEqual(got, ["a1", "c1", "c2"]);
  });
});
