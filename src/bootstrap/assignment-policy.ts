/*
 * Cache-first hub (issue 12, "Fast connect"): when to ask the bootstrap service.
 *
 * With a valid cached assignment the device connects to its hub at once; the bootstrap service is asked only
 *  - at boot when nothing usable is cached (first boot: unchanged, bootstrap first),
 *  - in the background, once the device is online, when the cached assignment is older than `maxAgeMs`
 *    (or of unknown age: cached by older firmware); a different hub is switched to at the next reconnect,
 *  - when the hub fails: a CONNACK refusal that says the hub does not accept this device (1, 2, 4, 5: the
 *    device is unknown or not authorized there), at once; any other failure after `failuresBeforeBootstrap`
 *    consecutive failed attempts.
 * Pure decisions: the boot sequence (src/boot/boot-sequence.ts) acts on them and logs the reason.
 */

/** An assignment as cached, with the time the service gave it (absent: cached by older firmware). */
export interface CachedAssignment {
  readonly hubHostName: string;
  readonly deviceId: string;
  /** Unix ms. */
  readonly obtainedAt?: number;
}

export interface AssignmentPolicyOptions {
  /** An assignment older than this is refreshed in the background (default 7 days). */
  readonly maxAgeMs: number;
  /** Consecutive failed hub attempts before the service is asked (default 3). */
  readonly failuresBeforeBootstrap: number;
}

export const DEFAULT_ASSIGNMENT_POLICY: AssignmentPolicyOptions = Object.freeze({ maxAgeMs: 7 * 24 * 3600_000, failuresBeforeBootstrap: 3 });

/** A time stamp this far ahead of the clock is not believed (a clock that was wrong when it was written). */
const FUTURE_SLACK_MS = 24 * 3600_000;

export type BootDecision =
  /** Nothing usable cached: ask the service before the hub (the first boot). */
  | { readonly action: "bootstrap-first"; readonly reason: string }
  /** Connect to the cached hub; the service is not asked. */
  | { readonly action: "use-cache"; readonly reason: string }
  /** Connect to the cached hub at once and refresh the assignment in the background once online. */
  | { readonly action: "use-cache-refresh"; readonly reason: string };

function days(ms: number): string {
  return `${Math.round((ms / (24 * 3600_000)) * 10) / 10} d`;
}

/** What to do at boot (clock valid), given what is cached. */
export function decideAtBoot(cached: CachedAssignment | undefined, now: number, options: AssignmentPolicyOptions = DEFAULT_ASSIGNMENT_POLICY): BootDecision {
  if (!cached) return { action: "bootstrap-first", reason: "no cached hub assignment" };
  const at = cached.obtainedAt;
  if (at === undefined) return { action: "use-cache-refresh", reason: "cached hub assignment of unknown age (no time stamp)" };
  const age = now - at;
  if (age < -FUTURE_SLACK_MS) return { action: "use-cache-refresh", reason: "cached hub assignment time stamp lies in the future" };
  if (age > options.maxAgeMs) return { action: "use-cache-refresh", reason: `cached hub assignment is ${days(age)} old (max ${days(options.maxAgeMs)})` };
  return { action: "use-cache", reason: `cached hub assignment is ${days(Math.max(0, age))} old` };
}

/** CONNACK return codes meaning this hub does not accept this device (identifier rejected, bad credentials, not authorized) or this client. */
export const DEVICE_REFUSED_CODES: readonly number[] = Object.freeze([1, 2, 4, 5]);

/** The CONNACK return code named in a link error ("… (CONNACK return code 5)"), if any. */
export function connackCodeOf(lastError: string | undefined): number | undefined {
  const m = lastError === undefined ? null : /CONNACK return code (\d+)/.exec(lastError);
  return m ? Number(m[1]) : undefined;
}

export interface HubFailure {
  /** Consecutive failed attempts since the hub phase began. */
  readonly failures: number;
  readonly lastError: string | undefined;
  /** The service was already asked since the hub was last reached: a refusal then counts like any failure. */
  readonly askedSinceOnline: boolean;
}

export type HubFailureDecision = { readonly action: "bootstrap"; readonly reason: string } | { readonly action: "keep"; readonly reason: string };

/** After a failed hub attempt: ask the service now, or keep the hub (the link retries with backoff). */
export function decideOnHubFailure(failure: HubFailure, options: AssignmentPolicyOptions = DEFAULT_ASSIGNMENT_POLICY): HubFailureDecision {
  const code = connackCodeOf(failure.lastError);
  if (code !== undefined && DEVICE_REFUSED_CODES.includes(code) && !failure.askedSinceOnline) {
    return { action: "bootstrap", reason: `the hub refused the device (CONNACK return code ${code}): it may be assigned elsewhere` };
  }
  if (failure.failures >= options.failuresBeforeBootstrap) {
    return { action: "bootstrap", reason: `${failure.failures} failed hub connections (${failure.lastError ?? "?"})` };
  }
  return { action: "keep", reason: `${failure.failures} of ${options.failuresBeforeBootstrap} failed hub connections` };
}
