/**
 * ButtonInput in the simulator (lin/mac/win): mcsim has no GPIO, so the buttons are the ones of the device
 * simulator's window (simulators/kisbox.js: click, keys 1..n, hold, double click). The window posts
 * `{"button": n, "down": true|false}`; button n is the n-th configured pin. Levels follow the device's wiring
 * (pull-up, pressed = low) and are stamped with the firmware's monotonic clock when the message arrives, so the
 * same debounce and gesture engine (src/device/button-gestures.ts) runs as on the device.
 *
 * Power-up: a GPIO level is there at once; the window's is a message away. openButtons asks the window
 * (`{"query": "buttons"}`), which answers `{"buttonsDown": [n, ...]}` with the buttons held while the app started
 * (the power-up gesture: a key or pointer held during a reload, or the test hook). `buttonsSettled()` resolves with
 * that answer, or after 500 ms without one; the factory-reset check waits for it.
 */
import type { ButtonInput, ButtonPin, ButtonInputOptions, EdgeListener } from "ports/gpio";
import { Listeners } from "core/listeners";
import Timer from "timer";
import { onWindowMessage, postToWindow } from "adapters/sim-window";

interface Edge {
  readonly level: boolean;
  readonly at: number;
}

export const GPIO_AVAILABLE = true;
/** Where the inputs come from (for the start-up log). */
export const BUTTON_SOURCE = "simulator window";

class WindowButton implements ButtonInput {
  readonly activeLow = true;
  private readonly edges: Listeners<Edge>;
  private level = true; // released
  private readonly unsubscribe: () => void;

  constructor(
    private readonly number: number,
    private readonly options: ButtonInputOptions,
    pin: number,
  ) {
    this.edges = new Listeners<Edge>((error) => options.onError(error, pin));
    this.unsubscribe = onWindowMessage((message) => {
      if (message.button !== this.number || typeof message.down !== "boolean") return;
      const level = !message.down;
      if (level === this.level) return;
      this.level = level;
      this.edges.emit({ level, at: this.options.monotonic() });
    });
  }

  onEdge(listener: EdgeListener): () => void {
    return this.edges.add((e) => listener(e.level, e.at));
  }

  read(): boolean {
    return this.level;
  }

  /** The window's answer at power-up: held or not, without an edge (nothing was pressed after the start). */
  setInitial(down: boolean): void {
    this.level = !down;
  }

  close(): void {
    this.unsubscribe();
    this.edges.clear();
  }
}

// Undefined until openButtons: a promise made at module level would be preloaded into flash, read-only.
let settled: Promise<void> | undefined;

/** One window button per configured pin, in order (button 1 = the first pin). */
export function openButtons(pins: readonly ButtonPin[], options: ButtonInputOptions): ButtonInput[] {
  const buttons = pins.map((pin, i) => new WindowButton(i + 1, options, pin.pin));
  settled = new Promise<void>((resolve) => {
    let done = false;
    const finish = (timedOut: boolean): void => {
      if (done) return;
      done = true;
      off();
      if (!timedOut) Timer.clear(timer); // a one-shot timer that fired is gone already
      resolve();
    };
    const off = onWindowMessage((message) => {
      const down = message.buttonsDown;
      if (!Array.isArray(down)) return;
      buttons.forEach((b, i) => b.setInitial(down.includes(i + 1)));
      finish(false);
    });
    const timer = Timer.set(() => finish(true), 500);
    postToWindow({ query: "buttons" });
  });
  return buttons;
}

/** Resolves once the buttons' power-up levels are known (see above). */
export function buttonsSettled(): Promise<void> {
  return settled ?? Promise.resolve();
}
