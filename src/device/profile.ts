import { LED_COLORS, type LedColor } from "./colors";
import type { ProfileName } from "./schema";

/** What makes a KIS.BOX or a KIS.LIGHT: the same core, decided by this (from the build's config). */
export interface DeviceProfile {
  readonly name: ProfileName;
  /** Push-buttons (KIS.BOX), each with its RGB LED. */
  readonly buttons: number;
  /** Signal-light segments (KIS.LIGHT), top to bottom, each with its colour. */
  readonly segments: readonly LedColor[];
  /** The LED (0-based) that shows boot phases and errors until the device is online (default: the first). */
  readonly statusLed?: number;
}

export const KIS_BOX: DeviceProfile = { name: "box", buttons: 3, segments: [] };
export const KIS_LIGHT: DeviceProfile = { name: "light", buttons: 0, segments: ["red", "yellow", "green", "blue", "white"] };

export function validateProfile(profile: DeviceProfile): void {
  const ledCount = profile.name === "box" ? profile.buttons : profile.segments.length;
  if (profile.statusLed !== undefined && (!Number.isInteger(profile.statusLed) || profile.statusLed < 0 || profile.statusLed >= ledCount)) {
    throw new RangeError(`statusLed must be 0..${ledCount - 1}`);
  }
  if (profile.name === "box" && (!Number.isInteger(profile.buttons) || profile.buttons < 1 || profile.buttons > 16)) {
    throw new RangeError("a KIS.BOX profile needs 1..16 buttons");
  }
  if (profile.name === "light") {
    if (profile.segments.length < 1 || profile.segments.length > 16) throw new RangeError("a KIS.LIGHT profile needs 1..16 segments");
    for (const c of profile.segments) if (!LED_COLORS.includes(c) || c === "off") throw new RangeError(`invalid segment colour ${String(c)}`);
  }
}
