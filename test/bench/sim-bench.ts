// B1 (device build) and B6 of the bench: the firmware as built for the device, an instrumented lin build (`-i`:
// release code that prints the XS heap once a second) in mcsim, against the local cloud and chronyd, all through
// the delay link. Needs the Moddable SDK (MODDABLE); without it the rows say so.
import { randomBytes } from "node:crypto";
import { signRelease } from "../../host/update/release-signer";
import { sleep } from "../integration/support/processes";
import type { FaultProxy } from "../integration/support/fault-proxy";
import { SimRig } from "../sim/support/sim-rig";
import type { McSim } from "../sim/support/mcsim";
import { DelayLink, nextAccept } from "./delay-link";
import { esp32Heap, type Esp32Heap } from "./esp32-heap";
import { PublishLog, isTelemetry } from "./host-connect";
import { heapPeak, parseHeapProbe, parseInstruments, type HeapSample } from "./instruments";
import { failed, DEVICE_MINIMUM, type BenchOptions } from "./suite";
import { MODDABLE_NOT_SET, median, notAvailable, roundTrips, skipped, value, type BenchRow, type Figure } from "./table";

// The lin build's device id (products/kisbox/manifest.json); the rig issues its certificate for it.
const DEVICE_ID = "kisbox-sim-1";
const BOOT = "device build boot: first packet → first PUBACK (mcsim)";
const RECONNECT = "device build reconnect: new TCP → PUBACK (mcsim)";
const PHASES = ["boot", "TLS handshake", "press burst", "OTA download"] as const;
type Phase = (typeof PHASES)[number];
const heapMeasure = (phase: Phase): string => `device build peak live XS heap, ${phase} (instrumented lin build) / esp32 XS heap`;

/** Wall-clock windows of the run, for B6. */
type Windows = Partial<Record<Phase, { from: number; to: number }>>;

export async function simRows(o: BenchOptions): Promise<BenchRow[]> {
  if (!process.env.MODDABLE) {
    return [
      { id: "B1", measure: BOOT, figure: skipped(MODDABLE_NOT_SET), goal: { op: "<=", limit: 6, unit: "RTT" }, notes: `protocol minimum ${DEVICE_MINIMUM.boot}` },
      { id: "B1", measure: RECONNECT, figure: skipped(MODDABLE_NOT_SET), goal: { op: "<=", limit: 4, unit: "RTT" }, notes: `protocol minimum ${DEVICE_MINIMUM.reconnect}` },
      ...PHASES.map((p): BenchRow => ({ id: "B6", measure: heapMeasure(p), figure: skipped(MODDABLE_NOT_SET), goal: { op: "<", limit: 75, unit: "percent" } })),
    ];
  }
  const link = new DelayLink(o.rttMs);
  let hub: FaultProxy | undefined;
  let rig: SimRig | undefined;
  try {
    let ntpProxy: Awaited<ReturnType<DelayLink["udp"]>> | undefined;
    rig = await SimRig.start(
      DEVICE_ID,
      "box",
      { firmwareVersion: "1.0.0", simulatePressEverySeconds: "1", heapProbeSeconds: "1" },
      async (cloud, chrony) => {
        ntpProxy = await link.udp(chrony.port);
        hub = await link.tcp(cloud.broker.port);
        return { ntp: ntpProxy.port, bootstrap: (await link.tcp(cloud.bootstrap.port)).port, blobs: (await link.tcp(cloud.blobs.port)).port };
      },
      "instrument",
    );
    rig.hubLink.targetPort = hub!.port;
    return await measure(rig, hub!, ntpProxy!, link, o);
  } catch (e) {
    process.stderr.write(`bench: the mcsim rig failed: ${e instanceof Error ? e.message : String(e)}\n`);
    return failed([BOOT, RECONNECT, ...PHASES.map(heapMeasure)], "B1", e).map((r, i) => (i < 2 ? r : { ...r, id: "B6" }));
  } finally {
    await rig?.dispose();
    await link.close();
  }
}

async function measure(rig: SimRig, hub: FaultProxy, ntp: Awaited<ReturnType<DelayLink["udp"]>>, link: DelayLink, o: BenchOptions): Promise<BenchRow[]> {
  const telemetry = new PublishLog(rig.cloud, isTelemetry(DEVICE_ID));
  const windows: Windows = {};
  const rows: BenchRow[] = [];
  let sim: McSim;
  try {
    // The first boot asks the bootstrap service and fills the cache; not measured.
    sim = await rig.powerOn();
    await sim.waitFor(/boot phase phase=online/, 120_000);
    await telemetry.waitAfter(0, 1, "the first boot's first event", 60_000);
    await sleep(1500);

    const bootMs: number[] = [];
    for (let i = 0; i < o.runs; i++) {
      await sim.stop();
      ntp.resetCounters();
      const start = Date.now();
      sim = await rig.powerOn();
      const acked = await telemetry.waitAfter(start, 1, "the first PUBLISH of a boot", 120_000);
      bootMs.push(acked.at + link.oneWayMs - (ntp.firstDatagramAt ?? start));
      const online = await sim.waitFor(/boot phase phase=online/, 60_000);
      const connecting = sim.lines.findIndex((l) => /\[hub\] connecting/.test(l));
      const connected = sim.lines.findIndex((l) => /\[hub\] connected/.test(l));
      windows.boot = { from: start, to: sim.times[online]! };
      if (connecting >= 0 && connected > connecting) windows["TLS handshake"] = { from: sim.times[connecting]!, to: sim.times[connected]! };
      await sleep(1500);
    }
    rows.push({ id: "B1", measure: BOOT, figure: value(roundTrips(median(bootMs), link.rttMs), "RTT"), goal: { op: "<=", limit: 6, unit: "RTT" }, notes: `protocol minimum ${DEVICE_MINIMUM.boot}; cached hub; runs ${bootMs.map((m) => roundTrips(m, link.rttMs).toFixed(1)).join(" / ")}` });

    const reconnectMs: number[] = [];
    for (let i = 0; i < o.runs; i++) {
      await sleep(1500);
      hub.blackhole();
      await sim.waitFor(/press button=1 state=queued/, 10_000, sim.lines.length); // lost with the link
      const accepted = nextAccept(hub);
      hub.reset();
      hub.resume();
      const at = await accepted;
      const acked = await telemetry.waitAfter(at, 1, "the press delivered after the reconnect", 60_000);
      reconnectMs.push(acked.at + link.oneWayMs - at);
    }
    rows.push({ id: "B1", measure: RECONNECT, figure: value(roundTrips(median(reconnectMs), link.rttMs), "RTT"), goal: { op: "<=", limit: 4, unit: "RTT" }, notes: `protocol minimum ${DEVICE_MINIMUM.reconnect} (with TLS resumption); runs ${reconnectMs.map((m) => roundTrips(m, link.rttMs).toFixed(1)).join(" / ")}` });

    // A press burst: a press a second (the simulated button) for 8 s, each delivered as it happens.
    await sleep(1000);
    windows["press burst"] = { from: Date.now(), to: Date.now() + 8000 };
    await sleep(8000);

    // An OTA download of a 300 KB image, signed with the rig's release key; apart from the burst by two probes.
    await sleep(2000);
    const image = randomBytes(300_000);
    const url = rig.cloud.blobs.put("/fw/kisbox-1.1.0.bin", image) + "?sv=2024-01-01&sig=x";
    const from = sim.lines.length;
    const otaStart = Date.now();
    await rig.cloud.hub.updateDesired({ firmware: { ...signRelease(image, rig.releaseKey, { product: "box", version: "1.1.0", url }) } });
    const done = await sim.waitFor(/firmware update verified and selected; restarting version=1\.1\.0/, 120_000, from);
    windows["OTA download"] = { from: otaStart, to: sim.times[done]! };
  } catch (e) {
    process.stderr.write(`bench: the mcsim run failed: ${e instanceof Error ? e.message : String(e)}\n`);
    rows.push(...failed([BOOT, RECONNECT].slice(rows.length), "B1", e));
  } finally {
    telemetry.close();
  }
  return [...rows, ...heapRows(sim!, windows)];
}

function heapRows(sim: McSim | undefined, windows: Windows): BenchRow[] {
  let budget: Esp32Heap;
  try {
    budget = esp32Heap();
  } catch (e) {
    return failed(PHASES.map(heapMeasure), "B6", e);
  }
  const samples = sim ? parseHeapProbe(sim.lines, sim.times) : { samples: [] as HeapSample[], error: "mcsim did not run" };
  const inUse = sim ? parseInstruments(sim.lines, sim.times) : { samples: [] as HeapSample[] };
  return PHASES.map((phase): BenchRow => {
    const w = windows[phase];
    let figure: Figure;
    let notes = `esp32 XS heap ${budget.bytes} B (${budget.explanation})`;
    if (samples.error) figure = notAvailable(samples.error);
    else if (!w) figure = notAvailable(`the ${phase} did not happen in the run`);
    else {
      // Probes come once a second: a phase shorter than that (the TLS handshake) is represented by the first probe
      // after it, which still holds what the phase left reachable; a longer one only by its own probes.
      const peak = heapPeak(samples.samples, w.from, w.to) ?? heapPeak(samples.samples, w.to, w.to + 1100);
      if (!peak) figure = notAvailable(`no heap probe during the ${phase}`);
      else {
        figure = value((100 * peak.esp32Bytes) / budget.bytes, "percent");
        const raw = heapPeak(inUse.samples, w.from, w.to) ?? heapPeak(inUse.samples, w.to, w.to + 1100);
        const garbage = raw ? `; in use with uncollected garbage (XS instrumentation) up to ${raw.esp32Bytes} B` : "";
        notes = `live after a collection: chunks ${peak.chunkBytes} B + ${peak.slots} slots × 16 B = ${peak.esp32Bytes} B of ${notes}${garbage}`;
      }
    }
    return { id: "B6", measure: heapMeasure(phase), figure, goal: { op: "<", limit: 75, unit: "percent" }, notes };
  });
}

