import assert from "../support/assert";
import { heapPeak, parseHeapProbe, parseInstruments } from "../bench/instruments";

describe("bench: mcsim's instrumentation lines (B6)", () => {
  const key = "instruments key: Pixels drawn,Frames drawn,Chunk used,Chunk available,Slot used,Slot available,Stack used";
  const lines = ["[boot] starting", key, "instruments: 0,0,10000,32768,64000,65536,512", "noise", "instruments: 0,0,20000,32768,32000,65536,512", "instruments: 0,0,5000,32768,96000,131072,512"];
  const times = [0, 0, 1000, 1500, 2000, 3000];

  it("reads chunks in bytes and slots as counts (the host's 32-byte slots), with the time each line came", () => {
    const { samples, error } = parseInstruments(lines, times);
    assert.equal(error, undefined);
    assert.deepEqual(samples[0], { at: 1000, chunkUsed: 10000, chunkAvailable: 32768, slotsUsed: 2000, slotsAvailable: 2048 });
    assert.equal(samples.length, 3);
  });

  it("takes the sample with the most heap in use in a window, slots at the ESP32's 16 bytes", () => {
    const { samples } = parseInstruments(lines, times);
    assert.deepEqual(heapPeak(samples, 0, 2500), { chunkBytes: 10000, slots: 2000, esp32Bytes: 42000 });
    assert.deepEqual(heapPeak(samples, 1500, 5000), { chunkBytes: 5000, slots: 3000, esp32Bytes: 53000 });
    assert.equal(heapPeak(samples, 4000, 5000), undefined);
  });

  it("says why when there is nothing to read", () => {
    assert.match(parseInstruments(["hello"], [0]).error ?? "", /no instrumentation/);
    assert.match(parseInstruments(["instruments key: Chunk used"], [0]).error ?? "", /unexpected instrumentation key/);
    assert.match(parseInstruments([key], [0]).error ?? "", /no samples/);
  });

  it("reads the firmware's heap probe (live heap after a collection): chunks in bytes, slots as counts", () => {
    const probe = ["info  [heap] heap live chunks=21000 slots=3100", "LED 0 on", "info  [heap] heap live chunks=25000 slots=2900"];
    const { samples, error } = parseHeapProbe(probe, [100, 150, 1100]);
    assert.equal(error, undefined);
    assert.deepEqual(samples.map((x) => [x.at, x.chunkUsed, x.slotsUsed]), [[100, 21000, 3100], [1100, 25000, 2900]]);
    assert.deepEqual(heapPeak(samples, 0, 2000), { chunkBytes: 25000, slots: 2900, esp32Bytes: 71400 });
    assert.match(parseHeapProbe(lines, times).error ?? "", /no heap probe line/);
  });
});
