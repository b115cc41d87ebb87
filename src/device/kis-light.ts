import type { Clock } from "../ports/clock";
import type { HubClient } from "../azure/hub-client";
import { MethodError } from "../azure/direct-methods";
import type { LedColor } from "./colors";
import type { PatternTarget } from "./led-patterns";
import { patternFor, type SetColorArgs } from "./kis-box";
import { telemetryBody } from "./schema";

export interface KisLightOptions {
  readonly hub: HubClient;
  /** One LED (or pixel group) per segment, top to bottom. */
  readonly target: PatternTarget;
  readonly clock: Clock;
  /** The colour of each segment (the light's glass), from the profile. */
  readonly segments: readonly LedColor[];
}

/**
 * The KIS.LIGHT: a column of coloured segments controlled from the cloud. `setColor` with a segment switches
 * that segment (its own colour, or another one if the hardware can), without a segment the segment of that
 * colour; every change is reported as `Set_Color_<colour>`.
 */
export class KisLight {
  private readonly state: LedColor[];

  constructor(private readonly options: KisLightOptions) {
    this.state = options.segments.map(() => "off");
    options.segments.forEach((_, i) => options.target.set(i, { pattern: "off", color: "off" }));
  }

  get segmentCount(): number {
    return this.options.segments.length;
  }

  segment(index: number): LedColor {
    return this.state[index - 1] ?? "off";
  }

  setColor(args: SetColorArgs): { segments: number[]; color: LedColor } {
    if (args.button !== undefined) throw new MethodError(400, "a KIS.LIGHT has segments, not buttons: use segment");
    let segments: number[];
    if (args.segment !== undefined) {
      if (args.segment > this.options.segments.length) throw new MethodError(400, `segment must be 1..${this.options.segments.length}`);
      segments = [args.segment];
    } else if (args.color === "off") {
      segments = this.options.segments.map((_, i) => i + 1);
    } else {
      const i = this.options.segments.indexOf(args.color);
      if (i < 0) throw new MethodError(400, `this light has no ${args.color} segment (it has ${this.options.segments.join(", ")})`);
      segments = [i + 1];
    }
    const spec = patternFor(args);
    for (const s of segments) {
      this.state[s - 1] = args.color;
      this.options.target.set(s - 1, spec);
    }
    const body = telemetryBody(`Set_Color_${args.color}`, { target: "segment", indexes: segments, pattern: spec.pattern, ts: new Date(this.options.clock.now()).toISOString() });
    this.options.hub.sendTelemetry(body, { event: `Set_Color_${args.color}` });
    return { segments, color: args.color };
  }

  allOff(): void {
    this.setColor({ color: "off" });
  }
}
