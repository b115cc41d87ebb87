/**
 * Which connection errors of the hub link cannot heal by retrying: the device keeps retrying (a hub's certificate
 * can be replaced, a CA registered), but the terminal says at once that nothing will change until someone acts.
 * The firmware's own refusals read `certificate refused: <reason> at <position>: <detail>` (src/x509); the host's
 * TLS (OpenSSL through node:tls) says the same things in its own words, before the firmware's check runs.
 */

/** Reasons of the firmware's path validator that a retry cannot change (the clock ones can: SNTP may fix them). */
const PERMANENT_REFUSALS = new Set([
  "untrusted",
  "bad-signature",
  "not-a-ca",
  "key-usage",
  "path-length-exceeded",
  "not-server-auth",
  "name-mismatch",
  "unknown-critical-extension",
  "unsupported-algorithm",
  "chain-too-long",
  "malformed",
  "no-certificate",
]);

const OPENSSL: ReadonlyArray<readonly [RegExp, string]> = [
  [/self[- ]signed certificate|unable to get local issuer certificate|unable to verify the first certificate|unable to get issuer certificate|certificate signature failure/i, "the hub's certificate is not trusted by the given roots (--ca)"],
  [/does not match certificate's altnames|Hostname\/IP does not match/i, "the hub's certificate is not for this host name (--hub-host)"],
  [/alert (unknown ca|bad certificate|certificate unknown|certificate required|unsupported certificate|access denied)|alert number 4[2-9]/i, "the hub refused the device's certificate"],
];

/** What a permanent TLS failure means, or undefined when a retry may succeed. */
export function permanentTlsFailure(error: string | undefined): string | undefined {
  if (!error) return undefined;
  const refusal = /certificate refused: ([a-z-]+)/.exec(error);
  if (refusal) return PERMANENT_REFUSALS.has(refusal[1]!) ? `the hub's certificate was refused (${refusal[1]})` : undefined;
  return OPENSSL.find(([pattern]) => pattern.test(error))?.[1];
}
