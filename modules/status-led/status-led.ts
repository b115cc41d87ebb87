/**
 * The on-board status LED in the simulator (lin/mac/win): drawn by the device simulator's window, which gets
 * `{"status": 1|0}` on every change.
 */
import { postToWindow } from "adapters/sim-window";

export interface StatusLed {
  set(on: boolean): void;
  close(): void;
}

export function openStatusLed(_pin: number, _activeLow: boolean): StatusLed {
  let last: boolean | undefined;
  const led: StatusLed = {
    set(on) {
      if (on === last) return;
      last = on;
      postToWindow({ status: on ? 1 : 0 });
    },
    close() {},
  };
  led.set(false);
  return led;
}
