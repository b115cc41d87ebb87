/** The host runner's flag values that decide where things go: endpoints, the NTP names, the state folder. */
import { resolve } from "node:path";
import { EUROPE_POOL } from "../../src/time/sntp-client";

/** A flag the user got wrong: the runner says so and exits with code 2, before anything starts. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

/** ADDR:PORT (an IPv6 address in brackets: [::1]:123). */
export function endpoint(text: string, flag: string): Endpoint {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:\s]+)):(\d{1,5})$/.exec(text);
  const port = Number(m?.[3]);
  if (!m || port < 1 || port > 65535) throw new UsageError(`${flag} takes ADDR:PORT, got ${JSON.stringify(text)}`);
  return { address: (m[1] ?? m[2])!, port };
}

/**
 * Where each of the four pool names is reached: name N at the N-th --ntp, cycling when fewer are given — so one
 * --ntp serves all four names and no pool name is ever looked up in DNS during a local run.
 */
export function ntpRoutes(flags: readonly string[]): Array<readonly [string, Endpoint]> {
  if (flags.length > EUROPE_POOL.length) throw new UsageError(`at most ${EUROPE_POOL.length} --ntp servers (one per pool name)`);
  const endpoints = flags.map((text) => endpoint(text, "--ntp"));
  if (endpoints.length === 0) return [];
  return EUROPE_POOL.map((name, i) => [name, endpoints[i % endpoints.length]!] as const);
}

/** The default state folder of a device: `.dev/<device-id>` (an id that is no plain file name is percent-encoded). */
export function defaultStateDir(deviceId: string, base = ".dev"): string {
  const name = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/.test(deviceId) ? deviceId : encodeURIComponent(deviceId).replace(/\./g, "%2E");
  return resolve(base, name);
}
