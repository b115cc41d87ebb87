import * as readline from "node:readline";
import type { LedColor } from "../../src/device/colors";
import type { PatternSpec, PatternTarget } from "../../src/device/led-patterns";
import type { LocalHub } from "../hub/local-hub";
import type { HostDevice } from "../device/host-device";
import type { FirmwareReport } from "../../src/update/ota-manager";
import type { Style } from "./style";
import { permanentTlsFailure } from "./tls-failure";

let held: string[] | undefined;

/** Prints a line (or keeps it while output is held). */
export function say(line: string): void {
  if (held) held.push(line);
  else process.stdout.write(line + "\n");
}

/** Keeps what is said from now on until `release`: a device being built prints its first LED line before its banner. */
export function holdOutput(): void {
  held ??= [];
}

/** Prints `first` (the banner), then what was held, and stops holding. */
export function releaseOutput(first: readonly string[]): void {
  const lines = [...first, ...(held ?? [])];
  held = undefined;
  for (const line of lines) say(line);
}

const ANSI: Record<LedColor, string> = { off: "90", red: "31", green: "32", blue: "34", yellow: "33", white: "97", cyan: "36", magenta: "35" };

export function describePattern(spec: PatternSpec, style: Style): string {
  if (spec.pattern === "off" || spec.color === "off") return style.paint("90", "○ off");
  const name = typeof spec.color === "string" ? spec.color : `rgb(${spec.color.r},${spec.color.g},${spec.color.b})`;
  const code = typeof spec.color === "string" ? ANSI[spec.color] : "97";
  const detail = spec.pattern === "on" ? "" : ` ${spec.pattern}${spec.periodMs ? ` ${spec.periodMs} ms` : ""}`;
  const brightness = spec.brightness !== undefined && spec.brightness !== 100 ? ` ${spec.brightness}%` : "";
  return `${style.paint(code, `● ${name}`)}${detail}${brightness}`;
}

/** How the hub in use was chosen, in words. */
const ASSIGNMENT: Readonly<Record<string, string>> = {
  service: "assigned by the bootstrap service",
  cache: "the cached assignment",
  default: "the compiled-in default hub",
  configured: "set for this run, no bootstrap",
};

const COLOR_KEYS: Record<string, LedColor> = { o: "off", r: "red", g: "green", b: "blue", y: "yellow", w: "white", c: "cyan", m: "magenta" };

/**
 * The terminal face of the simulation. KIS.BOX: keys (or lines on a pipe) 1..N press buttons; colour keys
 * make the local hub call setColor on the last pressed button. KIS.LIGHT: colour keys make the hub switch
 * the segment of that colour (o = all off). With the local cloud, `u` publishes a new firmware release.
 * Boot phases, deliveries, firmware update states and every LED pattern change are printed.
 */
export class TerminalUi {
  private lastButton = 1;
  private quit: (() => void) | undefined;
  private release: (() => void) | undefined;
  private lastLine = "";
  private lastFirmware = "";
  private device: HostDevice | undefined;
  private readonly names: string;
  readonly leds: PatternTarget;

  private lastTlsFailure: string | undefined;

  constructor(
    private readonly profile: "box" | "light",
    private readonly style: Style,
  ) {
    this.names = profile === "box" ? "button" : "segment";
    this.leds = { set: (index, spec) => say(`  ${this.names} ${index + 1} LED → ${describePattern(spec, style)}`) };
  }

  hubReceived(body: string, messageId: string | undefined): void {
    say(`  hub ← ${body}  (${messageId ?? "?"})`);
  }

  /** Prints each state the device's update manager reports (download progress aside). */
  private firmware(f: FirmwareReport): void {
    const line = `  firmware ${f.status} (running ${f.currentVersion}, target ${f.targetVersion ?? "none"}${f.lastError ? `, ${f.lastError}` : ""})`;
    if (line !== this.lastFirmware) say(line);
    this.lastFirmware = line;
  }

  onQuit(listener: () => void): void {
    this.quit = listener;
  }

  /** What `u` does (only offered when set). */
  onRelease(listener: () => void): void {
    this.release = listener;
  }

  /** Shows this device's events and sends the keys to it: called on every boot. */
  attach(device: HostDevice): void {
    this.device = device;
    this.lastLine = "";
    device.boot.onStatus((s) => {
      const source = s.assignmentSource ? (ASSIGNMENT[s.assignmentSource] ?? s.assignmentSource) : "";
      const line = `boot: ${s.phase}${s.phase === "online" ? ` (hub ${s.hub}, ${source})` : ""}`;
      if (line !== this.lastLine) say(line);
      this.lastLine = line;
      if (s.lastError && s.phase !== "online") say(`  last error [${s.lastError.phase}]: ${s.lastError.message}`);
    });
    // A TLS failure no retry can heal is said once, as an error, while the link keeps retrying as the device would.
    this.lastTlsFailure = undefined;
    device.hub.onStatus((status) => {
      const failure = status.state === "connected" ? undefined : permanentTlsFailure(status.lastError);
      if (failure && failure !== this.lastTlsFailure) {
        const detail = (status.lastError ?? "").trim().replace(/\s+/g, " ");
        say(this.style.paint("31", `error: ${failure}: ${detail} — this will not heal by retrying (the device keeps trying); fix the certificates or --ca and start again`));
      }
      if (status.state === "connected" || failure) this.lastTlsFailure = failure;
    });
    // A device just restarted into a new image shows "applying" until the hub is reached and confirms it.
    this.lastFirmware = "";
    if (device.ota && device.ota.status.status !== "idle") this.firmware(device.ota.status);
    device.ota?.onStatus((f) => this.firmware(f));
    device.box?.onFeedback((f) => {
      const text = f.state === "delivered" ? this.style.paint("32", "delivered (PUBACK)") : f.state === "queued" ? "queued" : this.style.paint("31", "dropped");
      say(`  button ${f.button}: Button_pressed ${text}  [${f.messageId}]`);
    });
  }

  /** Prints the keys and starts reading them (once; `attach` a device first). */
  listen(hub: LocalHub | undefined): void {
    const box = this.device?.box;
    const colours = Object.keys(COLOR_KEYS).join(" ");
    const update = this.release ? "u publishes a new firmware release; " : "";
    if (box) {
      say(hub ? `Keys: 1..${box.buttonCount} press a button; ${colours} make the hub call setColor on the last pressed button; ${update}q quits.` : `Keys: 1..${box.buttonCount} press a button; q quits.`);
    } else {
      say(hub ? `Keys: ${colours} make the hub call setColor on the light (o = all off); ${update}q quits.` : "Keys: q quits (the light is controlled from the cloud).");
    }
    const handle = (key: string): void => {
      if (key === "q" || key === "\u0003") return this.quit?.();
      if (key === "u") return this.release?.();
      const box = this.device?.box;
      const n = Number(key);
      if (box && Number.isInteger(n) && n >= 1 && n <= box.buttonCount) {
        this.lastButton = n;
        box.press(n);
        return;
      }
      const color = COLOR_KEYS[key];
      if (color && hub) {
        const args = this.profile === "box" ? { button: this.lastButton, color } : { color };
        say(`  hub → setColor ${JSON.stringify(args)}`);
        void hub.invokeMethod("setColor", args).then((r) => say(`  hub: setColor answered ${r.status} ${JSON.stringify(r.payload)}`));
      }
    };
    if (process.stdin.isTTY) {
      process.stdin.setRawMode(true);
      process.stdin.setEncoding("utf8");
      process.stdin.on("data", (chunk: string) => {
        for (const ch of chunk) handle(ch);
      });
    } else {
      const rl = readline.createInterface({ input: process.stdin });
      rl.on("line", (line) => handle(line.trim()));
      rl.on("close", () => setTimeout(() => this.quit?.(), 1500));
    }
  }

  close(): void {
    if (process.stdin.isTTY) process.stdin.setRawMode(false);
  }
}
