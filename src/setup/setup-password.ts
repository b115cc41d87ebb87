import type { Random } from "../ports/random";
import { validatePassphrase } from "../wifi/wifi-credentials";

/**
 * The setup access point's password: per device, made at factory provisioning and printed on the label (never a
 * shared default). 16 characters from an alphabet without look-alikes (no 0/o, 1/l/i), in groups of four for
 * reading off a label: 80 bits, far beyond what an offline WPA2 dictionary attack on a 15-minute access point
 * could try.
 */
export const SETUP_PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789";
const GROUPS = 4;
const GROUP_LENGTH = 4;
// Made at run time, once: XS would preload a module-level RegExp into flash, where exec crashes (mcsim segfault).
let formatPattern: RegExp | undefined;
const formatRe = (): RegExp => (formatPattern ??= new RegExp(`^[${SETUP_PASSWORD_ALPHABET}]{${GROUP_LENGTH}}(-[${SETUP_PASSWORD_ALPHABET}]{${GROUP_LENGTH}}){${GROUPS - 1}}$`));

export function generateSetupPassword(random: Random): string {
  const groups: string[] = [];
  for (let g = 0; g < GROUPS; g++) {
    let group = "";
    for (let i = 0; i < GROUP_LENGTH; i++) {
      const n = random.next();
      if (!(n >= 0 && n < 1)) throw new RangeError(`random.next() must be in [0, 1), got ${String(n)}`);
      group += SETUP_PASSWORD_ALPHABET[Math.floor(n * SETUP_PASSWORD_ALPHABET.length)]!;
    }
    groups.push(group);
  }
  return groups.join("-");
}

/** Whether `password` has the form generateSetupPassword makes (what a device accepts from its NVS). */
export function isSetupPassword(password: string): boolean {
  if (!formatRe().test(password)) return false;
  validatePassphrase(password); // 19 printable characters: always a valid WPA2 passphrase
  return true;
}

/** The setup access point's name: `KISME-` and the last 4 characters of the device id. */
export function setupSsid(deviceId: string): string {
  const tail = deviceId.replace(/[^A-Za-z0-9]/g, "").slice(-4).toUpperCase();
  return `KISME-${tail.padStart(4, "0")}`;
}
