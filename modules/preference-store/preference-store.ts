/**
 * KeyValueStore port (src/ports/storage.ts) over the SDK's `preference` module: NVS on esp32, a JSON file
 * (`modpreferences.json` in the simulator's files folder) on lin. Domain "kisme" — the same domain the device
 * credentials use (their keys: deviceId, cert.*, key.*; the core's: config, boot.count, safe.mode).
 *
 * Limits: keys 1..15 characters, values checked with the portable `checkStorageLimits` (<= 4000 UTF-8 bytes)
 * and, in addition, < 4000 bytes: ESP-IDF's nvs_set_str counts the terminating NUL in its 4000-byte limit, so a
 * string of exactly 4000 bytes would fail on flash ("nvs set fail"). Values are stored as NVS strings.
 *
 * A key that holds something other than a string (written by other code) reads as absent. Read and delete
 * failures of the flash are reported as exceptions, as the port allows; callers in the core catch them.
 */
import Preference from "preference";
import { checkStorageLimits, type KeyValueStore } from "ports/storage";
import { utf8Length } from "core/bytes";

export const PREFERENCE_DOMAIN = "kisme";
/** ESP-IDF: "For strings, the maximum length (including null character) is 4000 bytes". */
export const NVS_MAX_STRING_BYTES = 3999;

export class PreferenceStore implements KeyValueStore {
  constructor(private readonly domain: string = PREFERENCE_DOMAIN) {
    if (domain.length === 0 || domain.length > 15) throw new RangeError(`preference domain ${JSON.stringify(domain)} must be 1..15 characters`);
  }

  get(key: string): string | undefined {
    checkStorageLimits(key);
    const value = Preference.get(this.domain, key);
    return typeof value === "string" ? value : undefined;
  }

  set(key: string, value: string): void {
    checkStorageLimits(key, value);
    const bytes = utf8Length(value);
    if (bytes > NVS_MAX_STRING_BYTES) throw new RangeError(`value for ${key} is ${bytes} bytes; NVS strings hold at most ${NVS_MAX_STRING_BYTES}`);
    Preference.set(this.domain, key, value);
  }

  delete(key: string): void {
    checkStorageLimits(key);
    Preference.delete(this.domain, key);
  }
}
