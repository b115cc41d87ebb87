// Which development credentials a device build embeds: the decision scripts/build-device.mjs acts on, apart so
// that tests can check it without the Moddable SDK.
//
// The root manifest includes the manifest the KISME_DEV_CREDENTIALS_MANIFEST build variable names: by default
// modules/device-credentials/no-dev-credentials.json (empty), so a normal build neither embeds nor even looks for
// development credentials (no "no resources match" warnings). With --dev-credentials, on every platform, it is
// modules/device-credentials/dev-credentials.json, which lists device.der, device.key.der and dev-ca.der from the
// folder KISME_DEV_CREDENTIALS names (default local/). build-device always sets the manifest variable, so a stray
// environment variable never embeds them unasked.
import { existsSync } from "node:fs";
import path from "node:path";

/** The development resources modules/device-credentials/dev-credentials.json lists from $(KISME_DEV_CREDENTIALS). */
export const DEV_RESOURCES = Object.freeze(["device.der", "device.key.der", "dev-ca.der"]);

/** The manifests the root manifest's $(KISME_DEV_CREDENTIALS_MANIFEST) include chooses between. */
export const DEV_MANIFESTS = Object.freeze({
  none: "modules/device-credentials/no-dev-credentials.json",
  embed: "modules/device-credentials/dev-credentials.json",
});

/**
 * @param {object} o
 * @param {string} o.platform        mcconfig platform, e.g. "esp32", "esp32/m5stack", "lin"
 * @param {boolean} o.devCredentials whether --dev-credentials was given
 * @param {Record<string, string | undefined>} o.env the environment the build would run with
 * @param {string} o.root            the repository root (certs/ and local/ are below it)
 * @param {(file: string) => boolean} [o.exists]
 * @returns {{ embed: boolean, folder?: string, resources: string[], env: { KISME_DEV_CREDENTIALS_MANIFEST: string, KISME_DEV_CREDENTIALS?: string }, messages: string[], error?: string }}
 *   `env` is what the build must set; `resources` the development resources it will embed (none unless `embed`);
 *   `messages` say what is embedded (print them); `error` means: do not build.
 */
export function resolveDevCredentials({ platform, devCredentials, env, root, exists = existsSync }) {
  const certs = path.join(root, "certs");
  const local = path.join(root, "local");
  const present = (folder) => DEV_RESOURCES.filter((name) => exists(path.join(folder, name)));
  const none = (messages, error) => ({ embed: false, resources: [], env: { KISME_DEV_CREDENTIALS_MANIFEST: path.join(root, DEV_MANIFESTS.none) }, messages, ...(error ? { error } : {}) });

  // certs/ is the public roots' folder (every build embeds what the manifest names from it, and release-image
  // treats it as public): a development key or certificate there is a mistake waiting to be shipped.
  const inCerts = present(certs);
  if (inCerts.length > 0) {
    return none([], `certs/ holds development credentials (${inCerts.join(", ")}): certs/ is for the public roots only; move them to local/`);
  }
  const requested = env.KISME_DEV_CREDENTIALS;
  if (!devCredentials) {
    if (requested !== undefined && requested !== "" && path.resolve(root, requested) !== certs) {
      return none([], `KISME_DEV_CREDENTIALS is set (${requested}) but --dev-credentials is not given: development credentials are embedded only when asked for (pass --dev-credentials, or unset the variable)`);
    }
    return none([`development credentials: none embedded (--dev-credentials embeds them from ${requested ? requested : "local/"})`]);
  }
  const folder = requested !== undefined && requested !== "" ? path.resolve(root, requested) : local;
  if (!exists(folder)) return none([], `--dev-credentials: ${folder} does not exist (put ${DEV_RESOURCES.join(", ")} there, or set KISME_DEV_CREDENTIALS)`);
  const resources = present(folder);
  if (resources.length === 0) return none([], `--dev-credentials: ${folder} holds none of ${DEV_RESOURCES.join(", ")}`);
  const messages = [`embedding development credentials from ${folder}: ${resources.join(", ")}`];
  if (platform.split("/")[0] === "esp32") {
    messages.push("WARNING: an esp32 image with development credentials (a development key and CA) must never be released; scripts/release-image.mjs refuses it");
  }
  return { embed: true, folder, resources, env: { KISME_DEV_CREDENTIALS_MANIFEST: path.join(root, DEV_MANIFESTS.embed), KISME_DEV_CREDENTIALS: folder }, messages };
}
