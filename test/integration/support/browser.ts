import { existsSync } from "node:fs";
import { chromium, type Browser } from "playwright-core";

/** Debian's chromium (package `chromium`, installed by .ci/run); no browser is ever downloaded. */
export const CHROMIUM = "/usr/bin/chromium";

/**
 * Headless Chromium for the browser tests, driven by playwright-core. A missing browser is a failure with the
 * fix in the message, never a silent skip: the browser tests are part of `npm test`.
 */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: the browser tests need Debian's chromium (run .ci/run, or apt-get install chromium)`);
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox"] });
}
