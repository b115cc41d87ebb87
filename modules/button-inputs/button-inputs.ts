/**
 * ButtonInput in the simulator (lin/mac/win): mcsim has no GPIO, so the buttons are the ones of the device
 * simulator's window (simulators/kisbox.js: click, keys 1..n, hold, double click). The window posts
 * `{"button": n, "down": true|false}`; button n is the n-th configured pin. Levels follow the device's wiring
 * (pull-up, pressed = low) and are stamped with the firmware's monotonic clock when the message arrives, so the
 * same debounce and gesture engine (src/device/button-gestures.ts) runs as on the device.
 */
import type { ButtonInput, ButtonPin, ButtonInputOptions, EdgeListener } from "ports/gpio";
import { Listeners } from "core/listeners";
import { onWindowMessage } from "adapters/sim-window";

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

  close(): void {
    this.unsubscribe();
    this.edges.clear();
  }
}

/** One window button per configured pin, in order (button 1 = the first pin). */
export function openButtons(pins: readonly ButtonPin[], options: ButtonInputOptions): ButtonInput[] {
  return pins.map((pin, i) => new WindowButton(i + 1, options, pin.pin));
}
