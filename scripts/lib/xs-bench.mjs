// B3 of npm run bench: the cost of one button press in the portable core, inside XS (xsnap-worker, metered).
// test/bench/press-xs.ts is bundled with esbuild and each step is evaluated as its own crank, so the meter of a
// reply is the cost of that step alone: compute (computrons) and currentHeapCount (slots in use; it only rises
// between collections, so within a crank without a collection its rise is the slots allocated).
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";
import { ensureWorker, startWorker } from "../run-xs.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

async function bundle() {
  const result = await esbuild.build({
    entryPoints: [path.join(root, "test/bench/press-xs.ts")],
    absWorkingDir: root,
    bundle: true,
    write: false,
    format: "iife",
    target: "es2022",
    platform: "neutral",
    resolveExtensions: [".ts", ".js"],
    logLevel: "silent",
  });
  return result.outputFiles[0].text;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};

/**
 * Runs the press rig in XS. Resolves to
 *   { computronsPerPress, slotsPerPress, idleComputrons, idleSlots, samples, growth: { presses, slots, allocatedBytes } }
 * where the per-press figures are medians over `samples` single-press cranks minus the median of as many idle cranks
 * (the same time passing without a press), and growth is what 10 000 presses leave behind after a collection.
 */
export async function measurePressInXs({ samples = 41, growthPresses = 10_000, batch = 500 } = {}) {
  ensureWorker({ quiet: true });
  const code = await bundle();
  // The limit only has to be out of reach: metering is what makes the worker count computrons.
  const worker = startWorker({ meteringLimit: 2_000_000_000, parserBufferKiB: Math.max(8192, Math.ceil((code.length * 2) / 1024)) });
  const decoder = new TextDecoder();
  const crank = async (js) => {
    const bytes = await worker.evaluate(js);
    return { meter: worker.lastMeter(), value: bytes.length ? JSON.parse(decoder.decode(bytes)) : undefined };
  };
  const state = async () => (await crank("__pressBench.state()")).value;
  try {
    await crank(code);
    await crank("__pressBench.setup()");
    const ready = await state();
    if (ready.phase !== "online" || ready.error) throw new Error(`the press rig is not online in XS: ${JSON.stringify(ready)}`);
    await crank("__pressBench.presses(20)"); // warm-up: first-use paths, lazily built objects

    const cost = async (step) => {
      const compute = [];
      const slots = [];
      for (let i = 0; i < samples; i++) {
        const before = (await crank("0")).meter.currentHeapCount;
        const { meter } = await crank(step);
        compute.push(meter.compute);
        slots.push(meter.currentHeapCount - before);
      }
      return { compute: median(compute), slots: median(slots) };
    };
    const idle = await cost("__pressBench.idles(1)");
    const sentBefore = (await state()).presses;
    const press = await cost("__pressBench.presses(1)");
    const after = await state();
    if (after.error || after.presses - sentBefore !== samples || after.pending !== 0) {
      throw new Error(`the presses were not all sent and acknowledged in XS: ${JSON.stringify(after)} (before: ${sentBefore})`);
    }

    await crank("__pressBench.collect()");
    const start = (await crank("0")).meter;
    for (let done = 0; done < growthPresses; done += batch) await crank(`__pressBench.presses(${Math.min(batch, growthPresses - done)})`);
    await crank("__pressBench.collect()");
    const end = (await crank("0")).meter;
    const final = await state();
    if (final.error || final.pending !== 0) throw new Error(`the long run did not settle in XS: ${JSON.stringify(final)}`);
    return {
      computronsPerPress: press.compute - idle.compute,
      slotsPerPress: press.slots - idle.slots,
      idleComputrons: idle.compute,
      idleSlots: idle.slots,
      samples,
      growth: { presses: growthPresses, slots: end.currentHeapCount - start.currentHeapCount, allocatedBytes: end.allocate - start.allocate },
    };
  } finally {
    await worker.kill();
  }
}
