import type { Clock } from "../ports/clock";
import type { HttpsClient, HttpsResponse } from "../ports/https";
import type { ScopedLogger } from "../ports/logger";
import type { TlsCredentials } from "../ports/mqtt";
import type { KeyValueStore } from "../ports/storage";
import type { ConfigStore } from "../storage/config-store";
import {
  BOOTSTRAP_HOST,
  BOOTSTRAP_PORT,
  BootstrapResponseError,
  DEFAULT_HUB_HOST,
  HUB_MQTT_TLS_PORT,
  buildAssignmentRequest,
  isDnsHostName,
  parseAssignmentResponse,
  userAgent,
  validateAssignment,
  type BootstrapRequest,
  type HubAssignment,
} from "./bootstrap-contract";
import type { CachedAssignment } from "./assignment-policy";
import { toJson } from "../core/json";

/** Storage key of the cached assignment (NVS keys are at most 15 characters). */
export const BOOTSTRAP_CACHE_KEY = "boot.assign";
/** Version of the cached record's layout; a record of another version is ignored. */
export const BOOTSTRAP_CACHE_VERSION = 1;

export interface BootstrapClientOptions {
  readonly https: HttpsClient;
  readonly store: KeyValueStore;
  /** The device configuration: the assignment is cached in its `hub` section (else in `boot.assign` in `store`). */
  readonly config?: ConfigStore;
  readonly logger: ScopedLogger;
  /** Sent in the User-Agent (kisme-firmware/<version>). */
  readonly firmwareVersion: string;
  /** Pinned roots for the bootstrap server's certificate (adapter encoding). */
  readonly ca: readonly Uint8Array[];
  /** The device's certificate and key: the service authenticates the device by mutual TLS. */
  readonly client: Pick<TlsCredentials, "certificate" | "key">;
  /** Whether the egress table allows MQTT/TLS (8883) to a hub host; see hubAllowedBy(). */
  readonly allowsHub: (host: string) => boolean;
  readonly host?: string;
  readonly port?: number;
  /** Whole request, connect to last byte (default 10 s). */
  readonly timeoutMs?: number;
  /** Largest accepted response body (default 4096 bytes). */
  readonly maxBodyBytes?: number;
  /** The compiled-in hub (default iotrafi-prod-iot-hub.azure-devices.net). */
  readonly defaultHub?: string;
  /**
   * Optional watchdog: when given, a request the adapter has not settled `watchdogGraceMs` after
   * `timeoutMs` counts as timed out, so resolve() cannot hang on a faulty adapter. Its now() (a valid clock:
   * the service is asked over TLS only) also stamps the cached assignment (`obtainedAt`).
   */
  readonly clock?: Clock;
  readonly watchdogGraceMs?: number;
}

export type BootstrapSource = "service" | "cache" | "default";

export interface BootstrapResult {
  readonly hubHostName: string;
  readonly deviceId: string;
  readonly source: BootstrapSource;
  /** Why the service's answer was not used (absent when source is "service"). */
  readonly error?: string;
  /** A cached record that was unusable (corrupt, another device, no longer allowed), or a cache write that failed. */
  readonly cacheError?: string;
}

/** The egress-table predicate for hub hosts, from anything shaped like EgressPolicy. */
export function hubAllowedBy(policy: { allows(host: string, port: number, transport: "tcp"): boolean }): (host: string) => boolean {
  return (host) => policy.allows(host, HUB_MQTT_TLS_PORT, "tcp");
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Failures whose message already says what happened (others are prefixed "request failed:"). */
class RequestNotSent extends Error {
  override readonly name = "RequestNotSent";
  constructor(reason: string) {
    super(`request not sent: ${reason}`);
  }
}

class WatchdogTimeout extends Error {
  override readonly name = "WatchdogTimeout";
  constructor(ms: number) {
    super(`timed out: no answer within ${ms} ms`);
  }
}

/**
 * Finds the IoT Hub this device belongs to: asks the bootstrap service over HTTPS, remembers the last
 * valid answer, and otherwise falls back to that cached answer, then to the compiled-in hub.
 */
export class BootstrapClient {
  private readonly host: string;
  private readonly port: number;
  private readonly timeoutMs: number;
  private readonly maxBodyBytes: number;
  private readonly defaultHub: string;

  constructor(private readonly options: BootstrapClientOptions) {
    this.host = options.host ?? BOOTSTRAP_HOST;
    this.port = options.port ?? BOOTSTRAP_PORT;
    userAgent(options.firmwareVersion); // a bad version is a build error: fail here, not on every boot
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.maxBodyBytes = options.maxBodyBytes ?? 4096;
    const defaultHub = (options.defaultHub ?? DEFAULT_HUB_HOST).toLowerCase();
    if (!isDnsHostName(defaultHub) || !options.allowsHub(defaultHub)) {
      throw new RangeError(`default hub ${JSON.stringify(defaultHub)} is not a DNS name the egress table allows for MQTT/TLS`);
    }
    this.defaultHub = defaultHub;
    if (!(this.timeoutMs > 0) || !(this.maxBodyBytes > 0)) throw new RangeError("timeoutMs and maxBodyBytes must be positive");
  }

  /** Never rejects: the worst case is the default hub, with the reasons in `error` / `cacheError`. */
  async resolve(deviceId: string): Promise<BootstrapResult> {
    try {
      return await this.resolveOrThrow(deviceId);
    } catch (failure) {
      // Only a faulty port (a throwing logger or predicate) gets here; nothing is logged, as logging may be what failed.
      return { hubHostName: this.defaultHub, deviceId, source: "default", error: `internal error: ${message(failure)}` };
    }
  }

  private async resolveOrThrow(deviceId: string): Promise<BootstrapResult> {
    let error: string;
    try {
      const assignment = await this.fetchAssignment(deviceId);
      const cacheError = this.save(assignment);
      this.options.logger.info("hub assigned by bootstrap", { deviceId, hub: assignment.hubHostName });
      return { ...assignment, source: "service", ...(cacheError ? { cacheError } : {}) };
    } catch (failure) {
      const explained = failure instanceof BootstrapResponseError || failure instanceof WatchdogTimeout || failure instanceof RequestNotSent;
      error = explained ? message(failure) : `request failed: ${message(failure)}`;
      this.options.logger.warn("bootstrap failed", { deviceId, host: this.host, reason: error });
    }
    const cached = this.load(deviceId);
    if (cached.assignment) {
      this.options.logger.info("using cached hub assignment", { deviceId, hub: cached.assignment.hubHostName });
      return { ...cached.assignment, source: "cache", error };
    }
    if (cached.error) this.options.logger.warn("cached hub assignment ignored", { deviceId, reason: cached.error });
    this.options.logger.info("using the default hub", { deviceId, hub: this.defaultHub });
    return { hubHostName: this.defaultHub, deviceId, source: "default", error, ...(cached.error ? { cacheError: cached.error } : {}) };
  }

  private async fetchAssignment(deviceId: string): Promise<HubAssignment> {
    let shape: BootstrapRequest;
    try {
      shape = buildAssignmentRequest(deviceId, this.options.firmwareVersion);
    } catch (error) {
      throw new RequestNotSent(message(error));
    }
    const response = await this.withWatchdog(
      this.options.https.request({
        ...shape,
        host: this.host,
        port: this.port,
        ca: this.options.ca,
        client: this.options.client,
        timeoutMs: this.timeoutMs,
        maxBodyBytes: this.maxBodyBytes,
      }),
    );
    return parseAssignmentResponse(response, deviceId, this.options.allowsHub);
  }

  private withWatchdog(request: Promise<HttpsResponse>): Promise<HttpsResponse> {
    const clock = this.options.clock;
    if (!clock) return request;
    const limit = this.timeoutMs + (this.options.watchdogGraceMs ?? 2000);
    return new Promise((resolve, reject) => {
      const timer = clock.setTimeout(() => reject(new WatchdogTimeout(limit)), limit);
      request.then(
        (response) => {
          clock.clearTimeout(timer);
          resolve(response);
        },
        (error: unknown) => {
          clock.clearTimeout(timer);
          reject(error);
        },
      );
    });
  }

  /**
   * The cached assignment for `deviceId` with the time it was obtained (absent for records of older firmware and
   * for the legacy `boot.assign` store), or undefined when nothing usable is cached. Logs an unusable record.
   */
  cached(deviceId: string): CachedAssignment | undefined {
    try {
      const cached = this.load(deviceId);
      if (cached.error) this.options.logger.warn("cached hub assignment ignored", { deviceId, reason: cached.error });
      if (!cached.assignment) return undefined;
      const at = this.options.config?.config.hub?.obtainedAt;
      return { ...cached.assignment, ...(at !== undefined ? { obtainedAt: at } : {}) };
    } catch {
      return undefined; // a faulty port: as if nothing were cached (bootstrap first, as before)
    }
  }

  /**
   * Stores a valid assignment with the time it was obtained; only when it changed, or its time stamp is missing or
   * over an hour old (flash wear). Returns why it could not, if so.
   */
  private save(assignment: HubAssignment): string | undefined {
    const record = toJson({ v: BOOTSTRAP_CACHE_VERSION, deviceId: assignment.deviceId, hubHostName: assignment.hubHostName });
    try {
      const config = this.options.config;
      if (config) {
        const hub = config.config.hub;
        const now = this.options.clock?.now();
        const restamp = now !== undefined && (hub?.obtainedAt === undefined || Math.abs(now - hub.obtainedAt) > 3600_000);
        if (!hub || hub.deviceId !== assignment.deviceId || hub.hubHostName !== assignment.hubHostName || restamp) {
          config.update({ hub: { deviceId: assignment.deviceId, hubHostName: assignment.hubHostName, ...(now !== undefined ? { obtainedAt: Math.floor(now) } : {}) } });
        }
      } else if (this.options.store.get(BOOTSTRAP_CACHE_KEY) !== record) this.options.store.set(BOOTSTRAP_CACHE_KEY, record);
      return undefined;
    } catch (error) {
      const reason = `cache not written: ${message(error)}`;
      this.options.logger.error("could not cache the hub assignment", { reason });
      return reason;
    }
  }

  /** The cached assignment for `deviceId`, or why there is none usable (nothing cached: neither). */
  private load(deviceId: string): { assignment?: HubAssignment; error?: string } {
    const config = this.options.config;
    if (config) {
      const hub = config.config.hub;
      if (!hub) return {};
      try {
        return { assignment: validateAssignment({ deviceId: hub.deviceId, hubHostName: hub.hubHostName }, deviceId, this.options.allowsHub) };
      } catch (error) {
        return { error: `cache ignored: ${message(error)}` };
      }
    }
    let raw: string | undefined;
    try {
      raw = this.options.store.get(BOOTSTRAP_CACHE_KEY);
    } catch (error) {
      return { error: `cache unreadable: ${message(error)}` };
    }
    if (raw === undefined) return {};
    let record: unknown;
    try {
      record = JSON.parse(raw);
    } catch {
      return { error: "cache corrupt: not JSON" };
    }
    if (typeof record !== "object" || record === null || (record as { v?: unknown }).v !== BOOTSTRAP_CACHE_VERSION) {
      return { error: `cache corrupt: not a version ${BOOTSTRAP_CACHE_VERSION} record` };
    }
    try {
      return { assignment: validateAssignment(record, deviceId, this.options.allowsHub) };
    } catch (error) {
      return { error: `cache ignored: ${message(error)}` };
    }
  }
}
