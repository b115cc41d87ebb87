/**
 * A ButtonInput driven by a Timer, for verification builds (`simulatePressEverySeconds`), on every platform:
 * every period it goes low (pressed, pull-up wiring) and high again after `holdMs`, stamped with the firmware's
 * monotonic clock, so simulated presses take the whole gesture path (debounce, short/double/long) like real ones.
 */
import Timer from "timer";
import type { ButtonInput, EdgeListener } from "ports/gpio";
import { Listeners } from "core/listeners";

interface Edge {
  readonly level: boolean;
  readonly at: number;
}

export interface SimulatedButtonOptions {
  readonly monotonic: () => number;
  readonly onError: (error: unknown) => void;
  readonly everyMs: number;
  /** How long each press is held (default 120 ms: a short press). */
  readonly holdMs?: number;
}

export class SimulatedButton implements ButtonInput {
  private readonly edges: Listeners<Edge>;
  private level = true; // released (pull-up)
  private repeat: Timer | undefined;
  private release: Timer | undefined;

  constructor(
    private readonly options: SimulatedButtonOptions,
  ) {
    this.edges = new Listeners<Edge>(options.onError);
    this.repeat = Timer.repeat(() => this.press(), options.everyMs);
  }

  onEdge(listener: EdgeListener): () => void {
    return this.edges.add((e) => listener(e.level, e.at));
  }

  read(): boolean {
    return this.level;
  }

  close(): void {
    if (this.repeat !== undefined) Timer.clear(this.repeat);
    if (this.release !== undefined) Timer.clear(this.release);
    this.repeat = this.release = undefined;
    this.edges.clear();
  }

  private press(): void {
    if (!this.level) return;
    this.edge(false);
    this.release = Timer.set(() => {
      this.release = undefined;
      this.edge(true);
    }, this.options.holdMs ?? 120);
  }

  private edge(level: boolean): void {
    this.level = level;
    const at = this.options.monotonic();
    this.edges.emit({ level, at });
  }
}
