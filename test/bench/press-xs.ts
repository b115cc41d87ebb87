// The XS side of B3 (bundled by scripts/lib/xs-bench.mjs and evaluated in xsnap-worker): each call is one crank,
// so the worker's meter for that reply is the cost of exactly that call. Results go back as JSON in an ArrayBuffer.
import { PressRig } from "./press-rig";

interface XsGlobals {
  gc?: () => void;
  __pressBench?: PressBench;
}

const encoder = new TextEncoder();
const reply = (value: unknown): ArrayBuffer => encoder.encode(JSON.stringify(value)).slice().buffer as ArrayBuffer;

class PressBench {
  private rig: PressRig | undefined;
  private error: string | undefined;

  setup(): void {
    this.rig = new PressRig();
    this.rig.start().catch((e: unknown) => (this.error = String(e)));
  }

  /** `n` presses (async; the crank ends when they have settled). */
  presses(n: number): void {
    void this.run(n, () => this.rig!.press());
  }

  /** The same time passing without presses. */
  idles(n: number): void {
    void this.run(n, () => this.rig!.idle());
  }

  collect(): void {
    (globalThis as XsGlobals).gc?.();
  }

  /** What happened so far: sent Button_pressed messages, still unacknowledged ones, any error. */
  state(): ArrayBuffer {
    const rig = this.rig!;
    return reply({ presses: rig.events("Button_pressed").count, pending: rig.pending, phase: rig.firmware.boot.status.phase, link: rig.firmware.hub.status.state, error: this.error });
  }

  private async run(n: number, step: () => Promise<void>): Promise<void> {
    try {
      for (let i = 0; i < n; i++) await step();
    } catch (e) {
      this.error = String(e);
    }
  }
}

(globalThis as XsGlobals).__pressBench = new PressBench();
