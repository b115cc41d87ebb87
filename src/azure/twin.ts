import type { Clock } from "../ports/clock";
import type { ScopedLogger } from "../ports/logger";
import { fromUtf8, utf8 } from "../core/bytes";
import { Listeners, errorMessage } from "../core/listeners";
import { RequestTracker } from "./request-tracker";
import { parseDesiredPatchTopic, parseTwinResponseTopic, twinGetTopic, twinReportedTopic } from "./topics";
import { toJson } from "../core/json";

export type JsonObject = { [key: string]: unknown };

export interface TwinDocument {
  readonly desired: JsonObject;
  readonly reported: JsonObject;
}

export interface DesiredUpdate {
  /** The desired properties without `$version` (and without `$metadata`). */
  readonly properties: JsonObject;
  readonly version: number;
  /** True when this is the whole desired document (after a GET), false for a patch. */
  readonly full: boolean;
}

export class TwinError extends Error {
  override readonly name = "TwinError";
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

interface TwinResponse {
  status: number;
  version: number | undefined;
  payload: Uint8Array;
}

type Publish = (topic: string, payload: Uint8Array) => Promise<void>;

interface Waiter {
  resolve(version: number): void;
  reject(error: Error): void;
}

export interface TwinOptions {
  readonly clock: Clock;
  readonly logger: ScopedLogger;
  /** How long to wait for a twin response. */
  readonly timeoutMs: number;
}

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Merges patch `b` over `a` as IoT Hub merges twin patches (objects recursively, anything else replaces). */
export function mergePatch(a: JsonObject, b: JsonObject): JsonObject {
  const out: JsonObject = { ...a };
  for (const key of Object.keys(b)) {
    const left = out[key];
    const right = b[key];
    out[key] = isJsonObject(left) && isJsonObject(right) ? mergePatch(left, right) : right;
  }
  return out;
}

function withoutMeta(properties: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const key of Object.keys(properties)) if (key !== "$version" && key !== "$metadata") out[key] = properties[key];
  return out;
}

/** A usable `$version`: a non-negative safe integer (a huge or fractional one is refused, not adopted). */
function isVersion(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

/** At most this many GETs in one sync (a second one after a version that went back or a jump seen meanwhile). */
const MAX_GETS_PER_SYNC = 3;

/** 429 and 5xx are the hub's "try again later"; other failures will not get better by resending. */
function retryable(status: number): boolean {
  return status === 429 || status >= 500;
}

/**
 * Device twin: full GET with `$rid` correlation, coalesced reported-property PATCHes that survive
 * disconnects, and desired properties applied strictly by `$version`:
 *
 * - a patch of the next version (applied + 1) is applied; a patch of a version already applied is ignored;
 * - a patch that jumps ahead (more than one version) is not applied at all, neither its content nor its
 *   version: it triggers a full GET, and the device adopts what the GET returns. So a forged or corrupt huge
 *   `$version` cannot make the device ignore the genuine versions that follow;
 * - a full GET (after every (re)connect, and after a jump) is the hub's word: a newer document is applied; one
 *   older than the version applied is fetched once more (it may have been taken before a patch already
 *   applied), and if the hub still says so, adopted (content and version).
 */
export class Twin {
  private readonly tracker: RequestTracker<TwinResponse>;
  private readonly desiredListeners: Listeners<DesiredUpdate>;
  private publish: Publish | undefined;
  private appliedVersion = 0;
  private pendingPatch: JsonObject | undefined;
  private waiters: Waiter[] = [];
  private patchInFlight = false;
  private syncing: Promise<void> | undefined;
  /** A jump patch asked for a GET while a sync was already under way: GET again after it. */
  private resyncWanted = false;

  constructor(private readonly options: TwinOptions) {
    this.tracker = new RequestTracker<TwinResponse>(options.clock, "twin request");
    this.desiredListeners = new Listeners<DesiredUpdate>((e) => options.logger.error("desired-property handler failed", { error: errorMessage(e) }));
  }

  /** The `$version` of the desired properties last applied (0 = none yet). */
  get desiredVersion(): number {
    return this.appliedVersion;
  }

  onDesired(listener: (update: DesiredUpdate) => void): () => void {
    return this.desiredListeners.add(listener);
  }

  /** Called when a session is up and subscribed. */
  attach(publish: Publish): void {
    this.publish = publish;
  }

  /** Called when the session is gone: outstanding requests fail, queued reports wait for the next session. */
  detach(reason: string): void {
    this.publish = undefined;
    this.tracker.rejectAll(new TwinError(`disconnected: ${reason}`));
  }

  /** Fetches the whole twin. */
  async get(): Promise<TwinDocument> {
    const response = await this.request(twinGetTopic, new Uint8Array(0));
    if (response.status !== 200) throw new TwinError(`twin GET failed with status ${response.status}`, response.status);
    let doc: unknown;
    try {
      doc = JSON.parse(fromUtf8(response.payload));
    } catch (error) {
      throw new TwinError(`twin GET returned malformed JSON: ${errorMessage(error)}`, response.status);
    }
    if (!isJsonObject(doc) || !isJsonObject(doc.desired) || !isJsonObject(doc.reported)) {
      throw new TwinError("twin GET returned a document without desired/reported objects", response.status);
    }
    return { desired: doc.desired, reported: doc.reported };
  }

  /**
   * GETs the full twin and applies the desired properties if they are newer than those applied;
   * then sends any queued reported properties. Run after every (re)connect: desired patches sent
   * while the device was away are not delivered.
   */
  sync(): Promise<void> {
    this.syncing ??= this.doSync().finally(() => {
      this.syncing = undefined;
      if (this.resyncWanted && this.publish) this.resync(); // a jump seen after the last GET of that sync
    });
    return this.syncing;
  }

  /** A full GET for a jump patch: started now, or once more after the sync under way. */
  private resync(): void {
    this.resyncWanted = true;
    if (this.syncing) return;
    this.sync().catch((error: unknown) => this.options.logger.warn("twin resync failed", { error: errorMessage(error) }));
  }

  private async doSync(): Promise<void> {
    let wentBack = false;
    for (let gets = 1; ; gets++) {
      this.resyncWanted = false;
      const doc = await this.get();
      const version = doc.desired["$version"];
      let again = false;
      if (!isVersion(version)) {
        this.options.logger.warn("twin GET without a usable desired $version; desired properties not applied", { version: String(version) });
      } else if (version > this.appliedVersion) {
        this.adopt(withoutMeta(doc.desired), version);
      } else if (version < this.appliedVersion) {
        if (wentBack) {
          this.options.logger.warn("the hub's desired $version is below the one applied: adopting the hub's", { version, applied: this.appliedVersion });
          this.adopt(withoutMeta(doc.desired), version);
        } else {
          wentBack = true;
          again = true; // perhaps taken before a patch we applied since: ask once more
        }
      }
      if (!(again || this.resyncWanted) || gets >= MAX_GETS_PER_SYNC) break;
    }
    this.flushReported();
  }

  /**
   * Queues a reported-properties patch. Patches queued while a PATCH is in flight or while offline are
   * merged and sent as one. Resolves with the new reported `$version` once the hub has accepted them.
   */
  report(patch: JsonObject): Promise<number> {
    this.pendingPatch = this.pendingPatch ? mergePatch(this.pendingPatch, patch) : patch;
    const done = new Promise<number>((resolve, reject) => this.waiters.push({ resolve, reject }));
    this.flushReported();
    return done;
  }

  /** Whether reported properties are waiting to be sent. */
  get reportPending(): boolean {
    return this.pendingPatch !== undefined || this.patchInFlight;
  }

  private flushReported(): void {
    if (!this.publish || this.patchInFlight || !this.pendingPatch) return;
    const patch = this.pendingPatch;
    const waiters = this.waiters;
    this.pendingPatch = undefined;
    this.waiters = [];
    this.patchInFlight = true;
    this.request(twinReportedTopic, utf8(toJson(patch))).then(
      (response) => {
        this.patchInFlight = false;
        if (response.status >= 200 && response.status < 300) {
          for (const w of waiters) w.resolve(response.version ?? -1);
        } else if (retryable(response.status)) {
          this.requeue(patch, waiters);
        } else {
          const error = new TwinError(`reported-properties PATCH refused with status ${response.status}`, response.status);
          this.options.logger.warn(error.message);
          for (const w of waiters) w.reject(error);
        }
        this.flushReported();
      },
      (error: unknown) => {
        // Timeout or disconnect: keep the values (newer ones win) for the next attempt.
        this.patchInFlight = false;
        this.options.logger.debug("reported-properties PATCH deferred", { reason: errorMessage(error) });
        this.requeue(patch, waiters);
      },
    );
  }

  private requeue(patch: JsonObject, waiters: Waiter[]): void {
    this.pendingPatch = this.pendingPatch ? mergePatch(patch, this.pendingPatch) : patch;
    this.waiters = waiters.concat(this.waiters);
  }

  /** Handles twin topics; returns false for topics that are not the twin's. */
  handleMessage(topic: string, payload: Uint8Array): boolean {
    const response = parseTwinResponseTopic(topic);
    if (response) {
      if (response.rid === undefined || !this.tracker.resolve(response.rid, { status: response.status, version: response.version, payload })) {
        this.options.logger.debug("twin response without a pending request", { rid: response.rid });
      }
      return true;
    }
    const desired = parseDesiredPatchTopic(topic);
    if (desired) {
      this.handleDesiredPatch(desired.version, payload);
      return true;
    }
    return false;
  }

  private handleDesiredPatch(topicVersion: number | undefined, payload: Uint8Array): void {
    let body: unknown;
    try {
      body = JSON.parse(fromUtf8(payload));
    } catch (error) {
      this.options.logger.warn("ignored malformed desired-properties patch", { error: errorMessage(error) });
      return;
    }
    if (!isJsonObject(body)) {
      this.options.logger.warn("ignored desired-properties patch that is not an object");
      return;
    }
    const version = topicVersion ?? body["$version"];
    if (version === undefined) {
      this.options.logger.warn("ignored desired-properties patch without $version");
      return;
    }
    if (!isVersion(version)) {
      this.options.logger.warn("ignored desired-properties patch with an unusable $version", { version: String(version) });
      return;
    }
    const applied = this.appliedVersion;
    if (version <= applied) {
      this.options.logger.debug("ignored stale desired properties", { version, applied });
      return;
    }
    if (version === applied + 1) {
      this.adopt(withoutMeta(body), version, false);
      return;
    }
    // A jump: patches were missed (sent while we were reconnecting), or the version is not genuine. Neither the
    // content nor the version is taken from the patch: the full document, and its version, come from a GET.
    this.options.logger.warn("desired patch skips versions: fetching the full twin instead of applying it", { version, applied });
    if (this.publish) this.resync();
  }

  private adopt(properties: JsonObject, version: number, full = true): void {
    this.appliedVersion = version;
    this.desiredListeners.emit({ properties, version, full });
  }

  private request(topicFor: (rid: string) => string, payload: Uint8Array): Promise<TwinResponse> {
    const publish = this.publish;
    if (!publish) return Promise.reject(new TwinError("not connected"));
    const { rid, response } = this.tracker.create(this.options.timeoutMs);
    publish(topicFor(rid), payload).catch((error: unknown) => this.tracker.reject(rid, new TwinError(`twin request not sent: ${errorMessage(error)}`)));
    return response;
  }
}
