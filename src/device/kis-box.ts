import type { Clock } from "../ports/clock";
import type { HubClient } from "../azure/hub-client";
import { MethodError } from "../azure/direct-methods";
import type { OutboxRecord } from "../azure/telemetry-outbox";
import { Listeners } from "../core/listeners";
import { LED_COLORS, isLedColor, type LedColor } from "./colors";
import type { GestureEvent } from "./button-gestures";
import type { PatternKind, PatternSpec } from "./led-patterns";
import { telemetryBody } from "./schema";

export { LED_COLORS, isLedColor, type LedColor };

/** Where the box's button LEDs go: plain colours, or a pattern, as the cloud's base state. */
export interface LedSink {
  show(button: number, color: LedColor): void;
  showPattern?(button: number, spec: PatternSpec): void;
}

/** What the box shows the user about a press: recorded, acknowledged by the hub (PUBACK), or dropped. */
export interface PressFeedback {
  readonly button: number;
  readonly messageId: string;
  readonly state: "queued" | "delivered" | "dropped";
}

export interface KisBoxOptions {
  readonly hub: HubClient;
  readonly leds: LedSink;
  readonly clock: Clock;
  readonly buttonCount: number;
}

/** Arguments of setColor after the schema check. */
export interface SetColorArgs {
  readonly button?: number;
  readonly segment?: number;
  readonly color: LedColor;
  readonly pattern?: PatternKind;
  readonly periodMs?: number;
  readonly brightness?: number;
}

export function patternFor(args: SetColorArgs): PatternSpec {
  const pattern: PatternKind = args.color === "off" ? "off" : (args.pattern ?? "on");
  return {
    pattern,
    color: args.color,
    ...(args.periodMs !== undefined ? { periodMs: args.periodMs } : {}),
    ...(args.brightness !== undefined ? { brightness: args.brightness } : {}),
  };
}

/**
 * The KIS.BOX on top of the hub link: a press (short, long or double) becomes a `Button_pressed` event; a
 * stuck button is reported once; the cloud sets button colours and patterns with `setColor`, each change
 * reported as `Set_Color_<colour>`. Every event goes through the schema.
 */
export class KisBox {
  private readonly colors: LedColor[];
  private readonly feedback = new Listeners<PressFeedback>();
  private readonly presses = new Map<string, number>();

  constructor(private readonly options: KisBoxOptions) {
    if (!Number.isInteger(options.buttonCount) || options.buttonCount < 1) throw new RangeError("buttonCount must be at least 1");
    this.colors = new Array<LedColor>(options.buttonCount).fill("off");
    options.hub.outbox.onEvent((event) => {
      const button = this.presses.get(event.record.id);
      if (button === undefined || (event.type !== "delivered" && event.type !== "dropped")) return;
      this.presses.delete(event.record.id);
      this.feedback.emit({ button, messageId: event.record.id, state: event.type });
    });
  }

  get buttonCount(): number {
    return this.options.buttonCount;
  }

  color(button: number): LedColor {
    this.checkButton(button);
    return this.colors[button - 1]!;
  }

  onFeedback(listener: (feedback: PressFeedback) => void): () => void {
    return this.feedback.add(listener);
  }

  /** A button was pressed: record the event for the cloud; feedback follows as it is delivered. */
  press(button: number, gesture: "short" | "long" | "double" = "short"): OutboxRecord {
    this.checkButton(button);
    const record = this.send("Button_pressed", { button, gesture });
    this.presses.set(record.id, button);
    this.feedback.emit({ button, messageId: record.id, state: "queued" });
    return record;
  }

  /** A gesture from the button driver. */
  gesture(event: GestureEvent): void {
    if (event.gesture === "stuck") this.send("Button_stuck", { button: event.button });
    else if (event.gesture === "recovered") this.send("Button_released", { button: event.button });
    else this.press(event.button, event.gesture);
  }

  /** The setColor command (arguments already checked against the schema). */
  setColor(args: SetColorArgs): { buttons: number[]; color: LedColor } {
    if (args.segment !== undefined) throw new MethodError(400, "a KIS.BOX has buttons, not segments: use button");
    if (args.button !== undefined && args.button > this.options.buttonCount) throw new MethodError(400, `button must be 1..${this.options.buttonCount}`);
    const buttons = args.button === undefined ? this.colors.map((_, i) => i + 1) : [args.button];
    const spec = patternFor(args);
    for (const b of buttons) {
      this.colors[b - 1] = args.color;
      if (spec.pattern === "on" || spec.pattern === "off" || !this.options.leds.showPattern) this.options.leds.show(b, args.color);
      else this.options.leds.showPattern(b, spec);
    }
    this.send(`Set_Color_${args.color}`, { target: "button", indexes: buttons, pattern: spec.pattern });
    return { buttons, color: args.color };
  }

  allOff(): void {
    this.setColor({ color: "off" });
  }

  /** Every event goes through the schema: nothing undeclared leaves the device. */
  private send(event: string, fields: Record<string, unknown>): OutboxRecord {
    const body = telemetryBody(event, { ...fields, ts: new Date(this.options.clock.now()).toISOString() });
    return this.options.hub.sendTelemetry(body, { event });
  }

  private checkButton(button: number): void {
    if (!Number.isInteger(button) || button < 1 || button > this.options.buttonCount) {
      throw new RangeError(`button must be 1..${this.options.buttonCount}, got ${String(button)}`);
    }
  }
}
