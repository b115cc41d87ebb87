/**
 * ButtonInput in the simulator (lin/mac/win): mcsim has no GPIO (`embedded:io/digital` has no lin implementation),
 * so there are no real inputs and `openButtons` returns none. Verification builds use `adapters/simulated-button`.
 */
import type { ButtonInput, ButtonPin, ButtonInputOptions } from "ports/gpio";

export const GPIO_AVAILABLE = false;

export function openButtons(_pins: readonly ButtonPin[], _options: ButtonInputOptions): ButtonInput[] {
  return [];
}

