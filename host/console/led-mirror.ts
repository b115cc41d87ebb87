import type { PatternSpec, PatternTarget } from "../../src/device/led-patterns";
import { Listeners } from "../../src/core/listeners";

/**
 * A PatternTarget that remembers what each LED was last told to show and passes it on: the terminal prints it,
 * the web console draws it. The firmware's own pattern engine decides the spec; this only records it.
 */
export class LedMirror implements PatternTarget {
  private readonly specs: (PatternSpec | undefined)[] = [];
  private readonly listeners = new Listeners<{ index: number; spec: PatternSpec }>();

  constructor(private readonly next?: PatternTarget) {}

  set(index: number, spec: PatternSpec): void {
    this.specs[index] = spec;
    this.next?.set(index, spec);
    this.listeners.emit({ index, spec });
  }

  /** The last spec per LED index (undefined: never set). */
  get state(): readonly (PatternSpec | undefined)[] {
    return this.specs.slice();
  }

  onChange(listener: (change: { index: number; spec: PatternSpec }) => void): () => void {
    return this.listeners.add(listener);
  }
}
