/**
 * A single-colour status LED on one GPIO (esp32: an `embedded:io/digital` output), e.g. the DevKit's on-board LED.
 * `src/main.ts` drives it through the portable LedDriver (a one-LED LedPatterns): lit for any non-black colour.
 */
import Digital from "embedded:io/digital";

export interface StatusLed {
  set(on: boolean): void;
  close(): void;
}

/** Opens the LED (throws when the pin cannot be used); `activeLow`: the LED is lit when the pin is low. */
export function openStatusLed(pin: number, activeLow: boolean): StatusLed {
  const io = new Digital({ pin, mode: Digital.Output });
  let last = -1;
  const led: StatusLed = {
    set(on) {
      const level = on !== activeLow ? 1 : 0;
      if (level === last) return;
      last = level;
      io.write(level);
    },
    close: () => io.close(),
  };
  led.set(false);
  return led;
}
