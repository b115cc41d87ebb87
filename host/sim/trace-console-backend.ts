import { Listeners } from "../../src/core/listeners";
import { isLedColor } from "../../src/device/colors";
import type { PatternKind, PatternSpec } from "../../src/device/led-patterns";
import type { DeviceProfile } from "../../src/device/profile";
import type { ConsoleBackend, ConsoleHub, DeviceView } from "../console/console-api";

const PATTERNS: readonly PatternKind[] = ["off", "on", "blink", "flash", "breathe"];

/**
 * The LED line the firmware traces for every pattern it is asked to show (adapters/sim-window, TraceLeds):
 * `LED <index> <pattern> <colour name | rgb(r,g,b)>[ period=<ms>][ brightness=<%>]`; undefined for any other line.
 */
export function parseLedLine(line: string): { index: number; spec: PatternSpec } | undefined {
  const m = /^LED (\d+) (\w+) (\w+|rgb\((\d+),(\d+),(\d+)\))(?: period=(\d+))?(?: brightness=(\d+(?:\.\d+)?))?\s*$/.exec(line);
  if (!m || !(PATTERNS as readonly string[]).includes(m[2]!)) return undefined;
  const color = m[4] !== undefined ? { r: Number(m[4]), g: Number(m[5]), b: Number(m[6]) } : m[3]!;
  if (typeof color === "string" && !isLedColor(color)) return undefined;
  const spec: PatternSpec = {
    pattern: m[2] as PatternKind,
    color,
    ...(m[7] !== undefined ? { periodMs: Number(m[7]) } : {}),
    ...(m[8] !== undefined ? { brightness: Number(m[8]) } : {}),
  };
  return { index: Number(m[1]), spec };
}

/**
 * The web console's view of the firmware running in mcsim (`npm run sim`): the hub side is the local hub as in
 * `npm start`; the device side is read from the firmware's trace lines (boot phase, hub link, LED patterns), since
 * the firmware runs in another process. Its buttons are the mcsim window's: the console cannot press them.
 */
export class TraceConsoleBackend implements ConsoleBackend {
  private phase = "off";
  private link = "stopped";
  private hubName: string | undefined;
  private readonly leds: (PatternSpec | undefined)[] = [];
  private readonly events = new Listeners<{ name: string; data: unknown }>();
  private readonly off: (() => void)[] = [];

  constructor(
    private readonly deviceId: string,
    private readonly profile: DeviceProfile,
    readonly hub: ConsoleHub | undefined,
    readonly release: (() => Promise<{ version: string; size: number }>) | undefined,
  ) {
    if (hub) {
      this.off.push(hub.onTelemetry((t) => this.emit("telemetry", t)));
      this.off.push(hub.onReported((reported) => this.emit("reported", reported)));
      this.off.push(hub.onDesired((desired) => this.emit("desired", desired)));
    }
  }

  /** One line of the firmware's output. */
  feed(line: string): void {
    const led = parseLedLine(line);
    if (led) {
      this.leds[led.index] = led.spec;
      this.emit("led", led);
      return;
    }
    const phase = /\bboot phase phase=(\w+)(?:.*\bhub=(\S+))?/.exec(line);
    if (phase) {
      this.phase = phase[1]!;
      if (phase[2]) this.hubName = phase[2];
      this.emit("device", this.view());
      return;
    }
    const link = /\[main\] link state=(\w+)/.exec(line);
    if (link && link[1] !== this.link) {
      this.link = link[1]!;
      this.emit("device", this.view());
    }
  }

  view(): DeviceView {
    const firmware = this.hub?.reported["firmware"];
    return {
      deviceId: this.deviceId,
      profile: this.profile,
      phase: this.phase,
      hub: this.hubName,
      link: this.link,
      firmware: typeof firmware === "object" && firmware !== null ? (firmware as unknown as DeviceView["firmware"]) : undefined,
      leds: this.leds.slice(),
    };
  }

  press(): string {
    throw new RangeError("the device runs in mcsim: press its buttons in the mcsim window (click, or keys 1..n)");
  }

  onEvent(listener: (name: string, data: unknown) => void): () => void {
    return this.events.add((e) => listener(e.name, e.data));
  }

  close(): void {
    for (const off of this.off.splice(0)) off();
  }

  private emit(name: string, data: unknown): void {
    this.events.emit({ name, data });
  }
}
