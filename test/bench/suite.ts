// The bench's measurements turned into table rows (driven by scripts/bench.mjs). Each group returns its rows; a
// group that fails returns its rows as n/a with the error, so one broken part never hides the others.
import { HostWorld, measureDrain, measureHostConnect } from "./host-connect";
import { measureOta } from "./ota-throughput";
import { buttonPressedOnWire } from "./press-rig";
import { median, notAvailable, roundTrips, value, type BenchRow, type Goal } from "./table";

export interface BenchOptions {
  readonly rttMs: number;
  /** Repetitions behind each median (3). */
  readonly runs: number;
  readonly drainEvents: number;
}

const rtt = (limit: number): Goal => ({ op: "<=", limit, unit: "RTT" });

// Protocol minimum, in round trips, of the host device (Node's TLS 1.3). Boot: SNTP request/response (1), TCP
// handshake (1), TLS 1.3 full handshake (1: the client's Finished travels with the CONNECT), CONNECT/CONNACK (1),
// PUBLISH/PUBACK (1) = 5. Reconnect: TCP (1) + TLS 1.3 (1, resumed or not) + CONNECT (1) + PUBLISH (1) = 4.
export const HOST_MINIMUM = { boot: 5, reconnect: 4 } as const;
// The device build (the SDK's TLS 1.2): TLS 1.2's full handshake takes 2 round trips, so boot is 6; a resumed
// (abbreviated) handshake takes 1, so a reconnect with resumption is 4 (without it, 5).
export const DEVICE_MINIMUM = { boot: 6, reconnect: 4 } as const;

const samplesNote = (ms: readonly number[], rttMs: number): string => `runs ${ms.map((m) => roundTrips(m, rttMs).toFixed(1)).join(" / ")}`;

/** B1 (host device) and B2 (drain), on one local cloud. */
export async function hostRows(o: BenchOptions): Promise<BenchRow[]> {
  const world = await HostWorld.start(o.rttMs);
  const rows: BenchRow[] = [];
  try {
    try {
      const s = await measureHostConnect(world, o.runs);
      rows.push(
        { id: "B1", measure: "host device boot: first packet → first PUBACK", figure: value(roundTrips(median(s.bootMs), o.rttMs), "RTT"), goal: rtt(5.2), notes: `protocol minimum ${HOST_MINIMUM.boot}; cached hub; ${samplesNote(s.bootMs, o.rttMs)}` },
        { id: "B1", measure: "host device reconnect: new TCP → PUBACK", figure: value(roundTrips(median(s.reconnectMs), o.rttMs), "RTT"), goal: rtt(4.2), notes: `protocol minimum ${HOST_MINIMUM.reconnect}; ${samplesNote(s.reconnectMs, o.rttMs)}` },
      );
    } catch (e) {
      rows.push(...failed(["host device boot: first packet → first PUBACK", "host device reconnect: new TCP → PUBACK"], "B1", e));
    }
    try {
      // Each run against its own baseline on the same link; the median of the ratios (one run swings ±30 %).
      const runs = [];
      for (let i = 0; i < o.runs; i++) runs.push(await measureDrain(world, o.drainEvents));
      const ratios = runs.map((d) => d.deviceMs / d.baselineMs);
      const seconds = (ms: number): string => (ms / 1000).toFixed(2);
      rows.push({
        id: "B2",
        measure: `drain ${o.drainEvents} queued events after a reconnect (host device / MQTT.js pipelined)`,
        figure: value(median(ratios), "ratio"),
        goal: { op: "<=", limit: 1.2, unit: "ratio" },
        notes: `device ${seconds(median(runs.map((d) => d.deviceMs)))} s, MQTT.js ${seconds(median(runs.map((d) => d.baselineMs)))} s (medians); runs ${ratios.map((r) => r.toFixed(2)).join(" / ")}`,
      });
    } catch (e) {
      rows.push(...failed([`drain ${o.drainEvents} queued events after a reconnect`], "B2", e));
    }
  } finally {
    await world.close();
  }
  return rows;
}

/** B4: the host's update path against a plain download of the same image. */
export async function otaRows(o: BenchOptions): Promise<BenchRow[]> {
  const measure = "OTA download + verify + write throughput / plain HTTPS download (host adapters)";
  try {
    const s = await measureOta(o.rttMs, o.runs);
    const update = median(s.updateMs);
    const plain = median(s.downloadMs);
    const kib = s.imageBytes / 1024;
    return [
      {
        id: "B4",
        measure,
        figure: value(plain / update, "ratio"),
        notes: `${kib.toFixed(0)} KiB image: update ${(kib / (update / 1000)).toFixed(0)} KiB/s, plain ${(kib / (plain / 1000)).toFixed(0)} KiB/s (medians of ${o.runs})`,
      },
    ];
  } catch (e) {
    return failed([measure], "B4", e);
  }
}

/** B5: the Button_pressed PUBLISH as the codec encodes it. */
export async function wireRows(): Promise<BenchRow[]> {
  const measure = "bytes on the wire of one Button_pressed PUBLISH";
  try {
    const w = await buttonPressedOnWire();
    return [
      {
        id: "B5",
        measure,
        figure: value(w.packetBytes, "bytes"),
        goal: { op: "<=", limit: 160, unit: "bytes" },
        notes: `topic with property bag ${w.topicBytes} B, body ${w.bodyBytes} B, MQTT framing ${w.packetBytes - w.topicBytes - w.bodyBytes} B`,
      },
    ];
  } catch (e) {
    return failed([measure], "B5", e);
  }
}

/** B3 from the XS run (scripts/lib/xs-bench.mjs). */
export interface XsPressResult {
  readonly computronsPerPress: number;
  readonly slotsPerPress: number;
  readonly idleComputrons: number;
  readonly samples: number;
  readonly growth: { readonly presses: number; readonly slots: number; readonly allocatedBytes: number };
}

export function xsRows(r: XsPressResult | Error): BenchRow[] {
  const cost = "XS cost of one button press end to end (portable core, xsnap)";
  const growth = "XS heap growth over 10 000 presses (after a collection)";
  if (r instanceof Error) return failed([cost, growth], "B3", r);
  return [
    { id: "B3", measure: `${cost}: computrons`, figure: value(r.computronsPerPress, "computrons"), notes: `median of ${r.samples} presses, the timers of the same idle time (${r.idleComputrons}) taken off` },
    { id: "B3", measure: `${cost}: slots allocated`, figure: value(r.slotsPerPress, "slots"), notes: "XS slots (16 B each on the ESP32); chunks are not counted by xsnap's meter" },
    { id: "B3", measure: growth.replace("10 000", r.growth.presses.toLocaleString("en").replace(",", " ")), figure: value(r.growth.slots, "slots"), notes: `live slots after − before; heap allocated from the system grew ${r.growth.allocatedBytes} B` },
  ];
}

export function failed(measures: readonly string[], id: string, e: unknown): BenchRow[] {
  const reason = (e instanceof Error ? e.message : String(e)).split("\n")[0]!.slice(0, 160);
  return measures.map((measure) => ({ id, measure, figure: notAvailable(`failed: ${reason}`) }));
}
