import type { Clock } from "../ports/clock";
import type { HubClient } from "../azure/hub-client";
import { MethodError } from "../azure/direct-methods";
import type { OutboxRecord } from "../azure/telemetry-outbox";
import { Listeners } from "../core/listeners";
import { isJsonObject } from "../azure/twin";
import { telemetryBody } from "./schema";

import { LED_COLORS, isLedColor, type LedColor } from "./colors";

export { LED_COLORS, isLedColor, type LedColor };

/** Where button LED colours go (GPIO/PWM on the device, the terminal on the host). */
export interface LedSink {
  show(button: number, color: LedColor): void;
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

/**
 * The KIS.BOX behaviour on top of the hub link: a press becomes a `Button_pressed` event, and the
 * cloud sets button colours with the `setColor` method (each change reported as `Set_Color_<color>`).
 */
export class KisBox {
  private readonly colors: LedColor[];
  private readonly feedback = new Listeners<PressFeedback>();
  private readonly presses = new Map<string, number>();

  constructor(private readonly options: KisBoxOptions) {
    if (!Number.isInteger(options.buttonCount) || options.buttonCount < 1) throw new RangeError("buttonCount must be at least 1");
    this.colors = new Array<LedColor>(options.buttonCount).fill("off");
    options.hub.methods.register("setColor", (payload) => this.setColorMethod(payload));
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
  press(button: number): OutboxRecord {
    this.checkButton(button);
    const record = this.send("Button_pressed", { button, gesture: "short" });
    this.presses.set(record.id, button);
    this.feedback.emit({ button, messageId: record.id, state: "queued" });
    return record;
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

  private setColorMethod(payload: unknown): { buttons: number[]; color: LedColor } {
    if (!isJsonObject(payload)) throw new MethodError(400, 'expected {"color": <name>, "button"?: <number>}');
    const { color, button } = payload;
    if (!isLedColor(color)) throw new MethodError(400, `color must be one of ${LED_COLORS.join(", ")}`);
    let buttons: number[];
    if (button === undefined) buttons = this.colors.map((_, i) => i + 1);
    else if (typeof button === "number" && Number.isInteger(button) && button >= 1 && button <= this.options.buttonCount) buttons = [button];
    else throw new MethodError(400, `button must be 1..${this.options.buttonCount}`);
    for (const b of buttons) {
      this.colors[b - 1] = color;
      this.options.leds.show(b, color);
    }
    this.send(`Set_Color_${color}`, { target: "button", indexes: buttons, pattern: color === "off" ? "off" : "on" });
    return { buttons, color };
  }
}
