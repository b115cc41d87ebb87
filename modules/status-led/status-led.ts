/**
 * Status LED in the simulator (lin/mac/win): no GPIO, nothing to drive (`src/main.ts` logs the status pattern).
 */
export interface StatusLed {
  set(on: boolean): void;
  close(): void;
}

export function openStatusLed(_pin: number, _activeLow: boolean): StatusLed {
  return { set() {}, close() {} };
}
