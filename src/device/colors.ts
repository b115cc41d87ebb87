/** The colours the cloud can set on a button LED or a light segment. */
export const LED_COLORS = ["off", "red", "green", "blue", "yellow", "white", "cyan", "magenta"] as const;
export type LedColor = (typeof LED_COLORS)[number];

export function isLedColor(value: unknown): value is LedColor {
  return typeof value === "string" && (LED_COLORS as readonly string[]).includes(value);
}
