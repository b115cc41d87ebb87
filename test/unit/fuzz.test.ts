import assert from "../support/assert";
import { FUZZ_CASES, formatStats, fuzzCount } from "../support/fuzz-cases";
import { PropertyBagError, decodePropertyBag } from "../../src/azure/property-bag";
import { Fuzz } from "../support/fuzz";

// A few hundred seeded inputs per parser (the FUZZ_COUNT global raises it; scripts/fuzz-long.mjs runs 100 000).
const COUNT = fuzzCount(1000);
const SEED = 20261126;

describe("fuzzing the network parsers", () => {
  for (const c of FUZZ_CASES) {
    it(`${c.name}: no crash in ${COUNT} inputs`, async () => {
      const stats = await c.run(COUNT, SEED);
      assert.equal(stats.crashes, 0, formatStats(stats));
      assert.ok(stats.inputs >= COUNT, formatStats(stats));
      assert.equal(stats.accepted + stats.rejected + stats.crashes, stats.inputs, formatStats(stats));
    });
  }

  // Found by this fuzzer: XS decodes "%ED%A0%80" to a lone surrogate where Node throws; an echoed $rid then broke
  // the method answer. property-bag.ts refuses them on every engine.
  it("percent-encoded surrogates are refused on every engine", () => {
    for (const bag of ["$rid=%ED%A0%80", "a=%ED%B0%80", "%ED%A0%80=1"]) assert.throws(() => decodePropertyBag(bag), PropertyBagError, bag);
  });

  it("the generator is deterministic for a seed and bounded in depth", () => {
    const a = new Fuzz(7);
    const b = new Fuzz(7);
    for (let i = 0; i < 50; i++) assert.equal(JSON.stringify(a.json(6)), JSON.stringify(b.json(6)));
    const f = new Fuzz(3);
    let depth = 0;
    for (let i = 0; i < 200; i++) {
      const text = f.jsonText();
      let d = 0;
      for (const ch of text) {
        if (ch === "[" || ch === "{") d++;
        if (d > depth) depth = d;
      }
    }
    assert.ok(depth <= 64, `nesting ${depth}`);
  });
});
