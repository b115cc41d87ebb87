/**
 * Random port on esp32: `Math.random()`.
 *
 * In the Moddable SDK (8.2.3) XS implements Math.random with `c_rand()`, which xs/platforms/esp/xsHost.h maps to
 * `0x7fffffff & esp_random()` on ESP32: the ESP-IDF hardware RNG, seeded by hardware entropy. ESP-IDF documents
 * its output as true random numbers while Wi-Fi or Bluetooth is enabled (RF noise); before the radio starts it
 * is still hardware-based but weaker. Good enough for backoff jitter and message-id prefixes, which is all the
 * core uses it for. Not a key generator.
 */
import type { Random } from "ports/random";

export class SystemRandom implements Random {
  next(): number {
    const value = Math.random();
    return value < 1 ? value : 0;
  }
}
