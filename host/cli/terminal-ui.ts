import * as readline from "node:readline";
import type { LedColor } from "../../src/device/kis-box";
import type { LocalHub } from "../hub/local-hub";
import type { HostDevice } from "../device/host-device";

export function say(line: string): void {
  process.stdout.write(line + "\n");
}

const SWATCH: Record<LedColor, string> = {
  off: "\x1b[90m○ off\x1b[0m",
  red: "\x1b[31m● red\x1b[0m",
  green: "\x1b[32m● green\x1b[0m",
  blue: "\x1b[34m● blue\x1b[0m",
  yellow: "\x1b[33m● yellow\x1b[0m",
  white: "\x1b[97m● white\x1b[0m",
  cyan: "\x1b[36m● cyan\x1b[0m",
  magenta: "\x1b[35m● magenta\x1b[0m",
};

const COLOR_KEYS: Record<string, LedColor> = { o: "off", r: "red", g: "green", b: "blue", y: "yellow", w: "white", c: "cyan", m: "magenta" };

/**
 * The terminal face of the simulation: keys (or lines on a pipe) press buttons; with the local hub,
 * colour keys make the hub call setColor on the last pressed button. Boot phases, link state, delivery
 * confirmations and LED changes are printed as they happen.
 */
export class TerminalUi {
  private lastButton = 1;
  private quit: (() => void) | undefined;
  private lastLine = "";
  readonly leds = { show: (button: number, color: LedColor) => say(`  LED ${button} → ${SWATCH[color]}`) };

  constructor(private readonly buttons: number) {}

  hubReceived(body: string, messageId: string | undefined): void {
    say(`  hub ← ${body}  (${messageId ?? "?"})`);
  }

  onQuit(listener: () => void): void {
    this.quit = listener;
  }

  attach(device: HostDevice, hub: LocalHub | undefined): void {
    device.boot.onStatus((s) => {
      const line = `boot: ${s.phase}${s.phase === "online" ? ` (hub ${s.hub}, assignment from ${s.assignmentSource})` : ""}`;
      if (line !== this.lastLine) say(line);
      this.lastLine = line;
      if (s.lastError && s.phase !== "online") say(`  last error [${s.lastError.phase}]: ${s.lastError.message}`);
    });
    device.box.onFeedback((f) => {
      const text = f.state === "delivered" ? "\x1b[32mdelivered (PUBACK)\x1b[0m" : f.state === "queued" ? "queued" : "\x1b[31mdropped\x1b[0m";
      say(`  button ${f.button}: Button_pressed ${text}  [${f.messageId}]`);
    });
    say(
      hub
        ? `Keys: 1..${this.buttons} press a button; ${Object.keys(COLOR_KEYS).join(" ")} make the hub call setColor (${Object.values(COLOR_KEYS).join(", ")}); q quits.`
        : `Keys: 1..${this.buttons} press a button; q quits.`,
    );
    const handle = (key: string): void => {
      if (key === "q" || key === "\u0003") return this.quit?.();
      const n = Number(key);
      if (Number.isInteger(n) && n >= 1 && n <= this.buttons) {
        this.lastButton = n;
        device.box.press(n);
        return;
      }
      const color = COLOR_KEYS[key];
      if (color && hub) {
        say(`  hub → setColor {button: ${this.lastButton}, color: ${color}}`);
        void hub.invokeMethod("setColor", { button: this.lastButton, color }).then((r) => say(`  hub: setColor answered ${r.status} ${JSON.stringify(r.payload)}`));
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
