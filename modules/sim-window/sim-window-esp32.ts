/**
 * The device has no simulator window: nothing to post to, and the LED patterns go to the LEDs unobserved.
 */
import type { PatternTarget } from "device/led-patterns";

export const SIM_WINDOW = false;

export function postToWindow(_message: object): void {}

export function onWindowMessage(_listener: (message: Record<string, unknown>) => void): () => void {
  return () => {};
}

export function echoPatterns(target: PatternTarget): PatternTarget {
  return target;
}
