import { cpSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { sleep } from "../../integration/support/processes";
import type { McSimOptions } from "./mcsim";
import { xvfbScreenshot } from "./screenshot";

const ROOT = join(__dirname, "../../../..");

export type Rgb = readonly [number, number, number];

/** One entry of the window's history (simulators/kisme/device.js): an LED value, a pattern, the status LED or a button. */
export interface WindowEvent {
  readonly t: number;
  readonly index?: number;
  readonly rgb?: Rgb;
  readonly pattern?: { readonly index: number; readonly pattern: string; readonly color: unknown; readonly periodMs?: number; readonly brightness?: number };
  readonly status?: number;
  readonly button?: number;
  readonly down?: boolean;
}

export interface WindowState {
  readonly seq: number;
  readonly leds: Array<Rgb | null>;
  readonly history: readonly WindowEvent[];
}

/**
 * The device simulator window (simulators/) with its test hook: a copy of the project's simulators folder with a
 * `hook/` folder in it, which makes the window take button commands from `hook/in/*.json` and write what it shows
 * to `hook/state.json` (see simulators/kisme/device.js). Pressing through the hook is pressing in the window: the
 * same code posts the press to the firmware as a click or a key does.
 */
export class SimWindow {
  private sequence = 0;

  private constructor(readonly dir: string) {}

  static prepare(dir: string): SimWindow {
    const simulators = join(dir, "simulators");
    cpSync(join(ROOT, "simulators"), simulators, { recursive: true });
    mkdirSync(join(simulators, "hook", "in"), { recursive: true });
    return new SimWindow(dir);
  }

  /** What McSim needs to open the window (its own mcsim configuration, a framebuffer file for screenshots). */
  get options(): McSimOptions {
    mkdirSync(join(this.dir, "fb"), { recursive: true });
    return { simulators: join(this.dir, "simulators"), configHome: join(this.dir, "mcsim-config"), window: { width: 920, height: 560 }, fbdir: join(this.dir, "fb") };
  }

  private get hook(): string {
    return join(this.dir, "simulators", "hook");
  }

  /** Queues a gesture on a button of the window (taken within 25 ms, one gesture at a time). */
  command(button: number, action: "down" | "up" | "click" | "double" | "long", holdMs?: number): void {
    const name = String(++this.sequence).padStart(6, "0");
    const tmp = join(this.hook, "in", `${name}.tmp`);
    writeFileSync(tmp, JSON.stringify({ button, action, ...(holdMs !== undefined ? { holdMs } : {}) }));
    renameSync(tmp, join(this.hook, "in", `${name}.json`));
  }

  /** The window's state, or undefined before it wrote any (or while it writes). */
  state(): WindowState | undefined {
    try {
      return JSON.parse(readFileSync(join(this.hook, "state.json"), "utf8")) as WindowState;
    } catch {
      return undefined;
    }
  }

  history(since = 0): WindowEvent[] {
    return (this.state()?.history ?? []).filter((e) => e.t >= since);
  }

  /** Waits until `match` holds for some event from `since` on; returns it. */
  async waitForEvent(match: (e: WindowEvent) => boolean, what: string, since: number, timeoutMs = 15_000): Promise<WindowEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.history(since).find(match);
      if (hit) return hit;
      if (Date.now() > deadline) throw new Error(`window: no ${what} within ${timeoutMs} ms; history since: ${JSON.stringify(this.history(since).slice(-20))}`);
      await sleep(25);
    }
  }

  /** Waits until LED `index` is given `rgb` (by the firmware's LED driver) from `since` on. */
  waitForLed(index: number, rgb: Rgb, since: number, timeoutMs = 15_000): Promise<WindowEvent> {
    return this.waitForEvent((e) => e.index === index && e.rgb !== undefined && e.rgb.every((v, i) => v === rgb[i]), `LED ${index} = rgb(${rgb.join(",")})`, since, timeoutMs);
  }

  /** The Xvfb screen (mcsim's window at its top left), cut to the window, as a PNG. */
  screenshot(out: string): void {
    const window = this.options.window!;
    xvfbScreenshot(join(this.dir, "fb"), out, { x: 0, y: 0, width: window.width, height: window.height });
  }
}
