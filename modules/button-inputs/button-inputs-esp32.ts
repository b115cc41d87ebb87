/**
 * ButtonInput over ECMA-419 `embedded:io/digital` (esp32): an input with the configured pull resistor and
 * interrupts on both edges. `onReadable` runs on the main task after an edge; the level is read there and stamped
 * with the firmware's Clock.monotonic() (the same TimerClock the gesture layer uses), so the stamp is the time the
 * callback ran, not the time of the interrupt (a few ms later at most, well inside the 30 ms debounce).
 *
 * Bounces arrive as separate callbacks or are coalesced into one (the level then may equal the last one seen):
 * only real level changes are reported. Listener exceptions are contained (they would otherwise abort the VM).
 */
import Digital from "embedded:io/digital";
import type { ButtonInput, ButtonPin, EdgeListener, ButtonInputOptions } from "ports/gpio";
import { Listeners } from "core/listeners";

interface Edge {
  readonly level: boolean;
  readonly at: number;
}

export const GPIO_AVAILABLE = true;
/** Where the inputs come from (for the start-up log). */
export const BUTTON_SOURCE = "GPIO";

/** GPIO levels are there at once. */
export function buttonsSettled(): Promise<void> {
  return Promise.resolve();
}

class DigitalButton implements ButtonInput {
  private readonly edges: Listeners<Edge>;
  /** From the pin's wiring: explicit, or pressed = low with a pull-up, high with a pull-down. */
  readonly activeLow: boolean;
  private readonly io: Digital;
  private level: boolean;

  constructor(
    readonly pin: ButtonPin,
    private readonly options: ButtonInputOptions,
  ) {
    this.edges = new Listeners<Edge>((error) => options.onError(error, pin.pin));
    this.activeLow = pin.activeLow ?? pin.pull !== "down";
    const mode = pin.pull === "up" ? Digital.InputPullUp : pin.pull === "down" ? Digital.InputPullDown : Digital.Input;
    const self = this;
    this.io = new Digital({
      pin: pin.pin,
      mode,
      edge: Digital.Rising | Digital.Falling,
      onReadable() {
        self.changed();
      },
    });
    this.level = this.io.read() === 1;
  }

  onEdge(listener: EdgeListener): () => void {
    return this.edges.add((e) => listener(e.level, e.at));
  }

  read(): boolean {
    try {
      return this.io.read() === 1;
    } catch {
      return this.level;
    }
  }

  close(): void {
    this.edges.clear();
    try {
      this.io.close();
    } catch {
      // already closed
    }
  }

  private changed(): void {
    let level: boolean;
    let at: number;
    try {
      level = this.io.read() === 1;
      at = this.options.monotonic();
    } catch (error) {
      this.options.onError(error, this.pin.pin);
      return;
    }
    if (level === this.level) return; // a bounce coalesced into one interrupt
    this.level = level;
    this.edges.emit({ level, at });
  }
}

/** Opens one input per pin, in order. A pin that cannot be opened is reported and left out (the rest still work). */
export function openButtons(pins: readonly ButtonPin[], options: ButtonInputOptions): ButtonInput[] {
  const inputs: ButtonInput[] = [];
  for (const pin of pins) {
    try {
      inputs.push(new DigitalButton(pin, options));
    } catch (error) {
      options.onError(error, pin.pin);
    }
  }
  return inputs;
}
