// Which ESP-IDF settings and partition table an esp32 build uses: the decision scripts/build-device.mjs acts on,
// apart so that tests can check it without the Moddable SDK.
//
// The root manifest's esp32 build takes SDKCONFIGPATH and PARTITIONS_FILE from the build variables KISME_SDKCONFIG
// (default ./sdkconfig) and KISME_PARTITIONS (default ./sdkconfig/partitions.csv). The production profile,
// sdkconfig/production/ (Secure Boot v2, flash encryption in release mode, NVS encryption, its own partition
// table), is selected only with --production; build-device always sets both variables, so a stray environment
// variable never picks a profile unasked.
import path from "node:path";

export const PROFILES = Object.freeze({
  development: Object.freeze({ sdkconfig: "sdkconfig", partitions: "sdkconfig/partitions.csv" }),
  production: Object.freeze({ sdkconfig: "sdkconfig/production", partitions: "sdkconfig/production/partitions.csv" }),
});

/** The make targets a production build may run: it is built only (the production line flashes, README). */
export const PRODUCTION_TARGETS = Object.freeze(["build", "clean"]);

/**
 * @param {object} o
 * @param {string} o.platform         mcconfig platform, e.g. "esp32", "esp32/m5stack", "lin"
 * @param {boolean} o.production      whether --production was given
 * @param {boolean} o.devCredentials  whether --dev-credentials was given
 * @param {string | undefined} o.target  the -t target (undefined: mcconfig's default, build and run)
 * @param {boolean} o.debug           -d or -i
 * @param {string} o.root             the repository root
 * @returns {{ profile: "development" | "production" | undefined, target: string | undefined, env: Record<string, string>, messages: string[], error?: string }}
 *   `env` is what the build must set (nothing for the simulator); `target` the -t to pass; `error`: do not build.
 */
export function resolveSdkProfile({ platform, production, devCredentials, target, debug, root }) {
  const esp32 = platform === "esp32" || platform.startsWith("esp32/");
  const refuse = (error) => ({ profile: undefined, target, env: {}, messages: [], error });
  if (production) {
    if (!esp32) return refuse(`--production is for esp32 builds (not ${platform})`);
    if (devCredentials) return refuse("--production and --dev-credentials exclude each other: a production image carries no development credentials");
    if (debug) return refuse("--production builds are release builds (no -d or -i)");
    if (target !== undefined && !PRODUCTION_TARGETS.includes(target)) {
      return refuse(`--production builds only (-t ${PRODUCTION_TARGETS.join(" or -t ")}): the images must be signed with espsecure and flashed by the production line (README: Production line)`);
    }
  }
  if (!esp32) return { profile: undefined, target, env: {}, messages: [] };
  const profile = production ? "production" : "development";
  const p = PROFILES[profile];
  const env = { KISME_SDKCONFIG: path.join(root, p.sdkconfig), KISME_PARTITIONS: path.join(root, p.partitions) };
  const messages = production
    ? [
        `production profile: ${p.sdkconfig}/ (Secure Boot v2, flash encryption in release mode, NVS encryption) and ${p.partitions}`,
        "the bootloader and app images are built unsigned: sign them with espsecure sign-data --version 2 before flashing or releasing (README: Production line)",
      ]
    : [`ESP-IDF settings: ${p.sdkconfig}/sdkconfig.defaults and ${p.partitions} (development; --production for the production profile)`];
  return { profile, target: production ? (target ?? "build") : target, env, messages };
}
