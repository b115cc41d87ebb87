/**
 * RgbLed over ECMA-419 `embedded:io/pwm` (esp32: LEDC, low-speed mode): three PWM channels per LED, all on one
 * LEDC timer (same frequency and resolution). Common-anode LEDs are driven inverted (0 = full on).
 *
 * LEDC has 8 low-speed channels, and the SDK's driver (modules/io/pwm/esp32/_pwm.c, SDK 8.2.3) hands out only
 * channels 4..7 unless the channel map is widened: this module's manifest defines MODDEF_PWM_LEDC_CHANNEL and
 * MODDEF_PWM_LEDC_CHANNEL_MAP=0xFF (the driver tests the first and sets the second), giving all 8. A channel that
 * gets no LEDC channel (a third RGB LED needs the 9th) falls back to an `embedded:io/digital` output: on for
 * any value > 0, so colours and blink/flash still show but brightness and breathe do not. That fallback is logged.
 */
import PWM from "embedded:io/pwm";
import Digital from "embedded:io/digital";
import type { RgbLed, RgbPins, RgbLedOptions } from "ports/gpio";

export const PWM_AVAILABLE = true;
/** Where the LEDs are (for the start-up log). */
export const LED_OUTPUT = "PWM";

interface Channel {
  write(value: number): void;
  close(): void;
}

function pwmChannel(pin: number, options: RgbLedOptions): Channel {
  const io = new PWM({ pin, hz: options.hz ?? 1000 });
  const max = (1 << io.resolution) - 1;
  const invert = options.commonAnode === true;
  let last = -1;
  const channel: Channel = {
    write(value) {
      const duty = Math.round((value * max) / 255);
      const out = invert ? max - duty : duty;
      if (out === last) return;
      last = out;
      io.write(out);
    },
    close: () => (io as unknown as { close(): void }).close(),
  };
  channel.write(0);
  return channel;
}

function digitalChannel(pin: number, options: RgbLedOptions): Channel {
  const io = new Digital({ pin, mode: Digital.Output });
  const invert = options.commonAnode === true;
  let last = -1;
  const channel: Channel = {
    write(value) {
      const on = value > 0 ? 1 : 0;
      const out = invert ? 1 - on : on;
      if (out === last) return;
      last = out;
      io.write(out as 0 | 1);
    },
    close: () => io.close(),
  };
  channel.write(0);
  return channel;
}

function openChannel(pin: number, options: RgbLedOptions): Channel {
  try {
    return pwmChannel(pin, options);
  } catch (error) {
    options.onProblem("no PWM channel; on/off only", pin, error);
    return digitalChannel(pin, options);
  }
}

class PwmRgbLed implements RgbLed {
  constructor(private readonly channels: readonly Channel[]) {}

  set(r: number, g: number, b: number): void {
    this.channels[0]!.write(r);
    this.channels[1]!.write(g);
    this.channels[2]!.write(b);
  }

  close(): void {
    for (const c of this.channels) {
      try {
        c.close();
      } catch {
        // already closed
      }
    }
  }
}

/** Opens the LEDs in order (index 0 = button 1). An LED whose pins cannot be opened at all is a dark stand-in. */
export function openRgbLeds(leds: readonly RgbPins[], options: RgbLedOptions): RgbLed[] {
  return leds.map((pins) => {
    const opened: Channel[] = [];
    try {
      for (const pin of [pins.r, pins.g, pins.b]) opened.push(openChannel(pin, options));
      return new PwmRgbLed(opened);
    } catch (error) {
      for (const c of opened) c.close();
      options.onProblem("RGB LED not available", pins.r, error);
      return { set() {}, close() {} };
    }
  });
}
