import type { Clock, TimerId } from "../ports/clock";
import type { CryptoPort, Sha256 } from "../ports/crypto";
import type { HttpStream, HttpStreamClient } from "../ports/http-stream";
import type { ScopedLogger } from "../ports/logger";
import type { Random } from "../ports/random";
import type { UpdateSession, UpdateWriter } from "../ports/update-writer";
import type { DesiredUpdate, JsonObject } from "../azure/twin";
import { MethodError, type MethodHandler } from "../azure/direct-methods";
import { Backoff, type BackoffOptions } from "../core/backoff";
import { toHex } from "../core/bytes";
import { Listeners, errorMessage } from "../core/listeners";
import { redactUrlsIn, redactingLogger } from "../net/url-redaction";
import { OtaError, checkManifest, compareVersions, isFirmwareProduct, parseManifest, type FirmwareManifest, type FirmwareProduct, type ParsedUrl } from "./update-manifest";
import type { SecurityFloor } from "./security-floor";

export type OtaStatus = "idle" | "downloading" | "verifying" | "applying" | "rebooting" | "succeeded" | "failed" | "rolledBack";

/** The reported twin property `firmware`. */
export interface FirmwareReport {
  readonly currentVersion: string;
  readonly targetVersion: string | null;
  readonly status: OtaStatus;
  /** 0..100 (whole per cent of the image downloaded and written). */
  readonly progress: number;
  /** `code: message` of the last failure (or the rollback reason), null after a success. Never holds a URL's query. */
  readonly lastError: string | null;
}

/** What the manager needs of the twin. */
export interface OtaReporter {
  report(patch: JsonObject): Promise<number>;
}

export interface OtaManagerOptions {
  /** The version of this build (compared with the desired one). */
  readonly currentVersion: string;
  /** The product of this build (its profile name): images signed for another product are refused. */
  readonly product: FirmwareProduct;
  /** The security-version floor (NVS): images below it are refused; raised when an update is confirmed. */
  readonly securityFloor: SecurityFloor;
  /** Wall-clock time (ms since the epoch) when the clock is valid (SNTP), else undefined: expiring manifests wait for it. */
  readonly wallClock: () => number | undefined;
  readonly clock: Clock;
  readonly random: Random;
  readonly logger: ScopedLogger;
  /** Streaming GET, already behind the network guard. */
  readonly stream: HttpStreamClient;
  readonly crypto: CryptoPort;
  readonly writer: UpdateWriter;
  readonly reporter: OtaReporter;
  /** The release key built into the firmware (raw P-256 point or DER SubjectPublicKeyInfo). */
  readonly publicKey: Uint8Array;
  /** Roots trusted for the blob storage host. */
  readonly ca: readonly Uint8Array[];
  /** Restarts the device into the selected slot. */
  readonly restart: () => void;
  /** Flash write unit; an interruption re-fetches at most this much (default 4096). */
  readonly chunkSize?: number;
  /** No byte for this long aborts the attempt (default 30 s). */
  readonly stallTimeoutMs?: number;
  /** Connect + TLS + response headers (default 30 s). */
  readonly connectTimeoutMs?: number;
  /** Consecutive failed attempts without progress before giving up (default 5). */
  readonly maxRetries?: number;
  /** Delay between attempts (default 2 s growing to 60 s, full jitter). */
  readonly backoff?: BackoffOptions;
  /** Progress is reported at 10 % steps and at most this often (default 10 s). */
  readonly progressIntervalMs?: number;
  /** Time between "rebooting" being reported and the restart (default 2 s). */
  readonly rebootDelayMs?: number;
  /** A new image that has not reached the hub and reported its version within this is rolled back (default 10 min). */
  readonly confirmTimeoutMs?: number;
  /** ... or that has been booted more often than this without being confirmed (default 3). */
  readonly maxPendingBoots?: number;
  readonly userAgent?: string;
  /** The reported property the status goes to (default "firmware", beside the desired `firmware` manifest). */
  readonly reportKey?: string;
}

/** "750 ms" below ten seconds, "42 s" above. */
const duration = (ms: number): string => (ms < 10_000 ? `${Math.round(ms)} ms` : `${Math.round(ms / 1000)} s`);

const imageKey = (version: string, sha256: string): string => `${version}/${sha256.toLowerCase()}`;
const manifestKey = (m: FirmwareManifest): string => `${imageKey(m.version, m.sha256)}/${m.signature}`;

/** One download into one update session: chunked writes, hashing as it goes, resume with Range, stall watch, retries. */
class Download {
  private session: UpdateSession | undefined;
  private readonly hash: Sha256;
  private readonly buffer: Uint8Array;
  private fill = 0;
  private committed = 0;
  private skip = 0;
  private attemptNo = 0;
  private attemptStart = 0;
  private retries = 0;
  private stream: HttpStream | undefined;
  private stallTimer: TimerId | undefined;
  private retryTimer: TimerId | undefined;
  private lastActivity = 0;
  private done = false;
  private readonly backoff: Backoff;
  /** Bytes received from the network over all attempts (tests: resume cost). */
  received = 0;

  constructor(
    private readonly m: FirmwareManifest,
    private readonly url: ParsedUrl,
    private readonly o: OtaManagerOptions,
    private readonly events: {
      progress(committed: number): void;
      resumed(offset: number, attempt: number): void;
      finished(digest: Uint8Array, session: UpdateSession): void;
      failed(error: OtaError): void;
    },
  ) {
    this.hash = o.crypto.sha256();
    this.buffer = new Uint8Array(o.chunkSize ?? 4096);
    this.backoff = new Backoff(o.backoff ?? { initialMs: 2000, maxMs: 60_000 }, o.random);
  }

  start(): void {
    try {
      this.session = this.o.writer.begin({ size: this.m.size, version: this.m.version, sha256: this.m.sha256 });
    } catch (error) {
      this.fail(new OtaError("write-failed", `cannot open the update slot: ${errorMessage(error)}`));
      return;
    }
    this.attempt();
  }

  get offset(): number {
    return this.committed;
  }

  /** Stops everything; the session is cancelled (the boot partition stays as it was). */
  abort(): void {
    if (this.done) return;
    this.done = true;
    this.stopAttempt();
    if (this.retryTimer !== undefined) this.o.clock.clearTimeout(this.retryTimer);
    this.session?.cancel();
  }

  private stopAttempt(): void {
    this.attemptNo++; // late callbacks of the old attempt are ignored
    this.stream?.abort();
    this.stream = undefined;
    if (this.stallTimer !== undefined) this.o.clock.clearTimeout(this.stallTimer);
    this.stallTimer = undefined;
    this.fill = 0; // an unwritten partial chunk is fetched again
  }

  private fail(error: OtaError): void {
    if (this.done) return;
    this.abort();
    this.events.failed(error);
  }

  private attempt(): void {
    const no = ++this.attemptNo;
    this.attemptStart = this.committed;
    this.skip = 0;
    const live = (): boolean => !this.done && no === this.attemptNo;
    if (this.committed > 0) this.events.resumed(this.committed, this.retries);
    this.lastActivity = this.o.clock.monotonic();
    this.armStall(this.o.stallTimeoutMs ?? 30_000);
    this.stream = this.o.stream.get(
      {
        host: this.url.host,
        port: this.url.port,
        path: this.url.path,
        headers: { accept: "application/octet-stream", "user-agent": this.o.userAgent ?? `kisme-firmware/${this.o.currentVersion}` },
        ...(this.committed > 0 ? { rangeStart: this.committed } : {}),
        ca: this.o.ca,
        connectTimeoutMs: this.o.connectTimeoutMs ?? 30_000,
      },
      {
        onResponse: (status, headers) => live() && this.onResponse(status, headers),
        onData: (chunk) => live() && this.onData(chunk),
        onEnd: () => live() && this.onEnd(),
        // The HTTP layers are meant to leave the URL's query (the SAS token) out of their errors; make sure.
        onError: (error) => live() && this.retry(new OtaError("network", redactUrlsIn(errorMessage(error)), true)),
      },
    );
  }

  private armStall(delay: number): void {
    const stallMs = this.o.stallTimeoutMs ?? 30_000;
    this.stallTimer = this.o.clock.setTimeout(() => {
      this.stallTimer = undefined;
      const idle = this.o.clock.monotonic() - this.lastActivity;
      if (idle >= stallMs) this.retry(new OtaError("stalled", `no data for ${duration(idle)} at byte ${this.committed + this.fill}`, true));
      else this.armStall(stallMs - idle);
    }, delay);
  }

  private onResponse(status: number, headers: Readonly<Record<string, string>>): void {
    this.lastActivity = this.o.clock.monotonic();
    const size = this.m.size;
    if (status === 200) {
      const length = headers["content-length"];
      if (length !== undefined && Number(length) !== size) {
        return this.fail(new OtaError("size-mismatch", `the server has ${length} bytes, the manifest says ${size}`));
      }
      this.skip = this.committed; // the server ignored the Range: drop what is already written
      return;
    }
    if (status === 206) {
      const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(headers["content-range"] ?? "");
      if (!range || Number(range[1]) !== this.committed) {
        return this.fail(new OtaError("http-status", `206 with an unusable Content-Range ${JSON.stringify(headers["content-range"] ?? null)} for byte ${this.committed}`));
      }
      if (range[3] !== "*" && Number(range[3]) !== size) return this.fail(new OtaError("size-mismatch", `the server has ${range[3]} bytes, the manifest says ${size}`));
      return;
    }
    if (status === 416) return this.fail(new OtaError("size-mismatch", `the server has fewer than ${this.committed + 1} bytes (416), the manifest says ${size}`));
    const retryable = status === 408 || status === 429 || status >= 500;
    const error = new OtaError("http-status", `GET ${this.url.host} answered ${status}`, retryable);
    if (retryable) this.retry(error);
    else this.fail(error);
  }

  private onData(chunk: Uint8Array): void {
    this.lastActivity = this.o.clock.monotonic();
    this.received += chunk.length;
    let data = chunk;
    if (this.skip > 0) {
      const n = Math.min(this.skip, data.length);
      this.skip -= n;
      data = data.subarray(n);
    }
    if (this.committed + this.fill + data.length > this.m.size) {
      return this.fail(new OtaError("size-mismatch", `the server sent more than the manifest's ${this.m.size} bytes`));
    }
    const size = this.buffer.length;
    while (data.length > 0) {
      const n = Math.min(size - this.fill, data.length);
      this.buffer.set(data.subarray(0, n), this.fill);
      this.fill += n;
      data = data.subarray(n);
      if (this.fill === size && !this.commit()) return;
    }
  }

  /** Writes and hashes the buffered chunk; false (and failed) on a write error. */
  private commit(): boolean {
    const bytes = this.fill === this.buffer.length ? this.buffer : this.buffer.subarray(0, this.fill);
    try {
      this.session!.write(bytes);
    } catch (error) {
      this.fail(new OtaError("write-failed", errorMessage(error)));
      return false;
    }
    this.hash.update(bytes);
    this.committed += this.fill;
    this.fill = 0;
    this.events.progress(this.committed);
    return true;
  }

  private onEnd(): void {
    if (this.committed + this.fill < this.m.size) {
      return this.retry(new OtaError("network", `the body ended at byte ${this.committed + this.fill} of ${this.m.size}`, true));
    }
    if (this.fill > 0 && !this.commit()) return;
    this.stopAttempt();
    this.done = true;
    if (this.retryTimer !== undefined) this.o.clock.clearTimeout(this.retryTimer);
    this.events.finished(this.hash.digest(), this.session!);
  }

  private retry(error: OtaError): void {
    this.stopAttempt();
    if (this.committed > this.attemptStart) {
      // This attempt got somewhere: a fresh budget.
      this.retries = 0;
      this.backoff.reset();
    }
    if (!error.retryable || this.retries >= (this.o.maxRetries ?? 5)) {
      const tries = this.retries + 1;
      return this.fail(error.retryable ? new OtaError(error.code, `${error.message} (gave up after ${tries} attempts)`) : error);
    }
    this.retries++;
    const delay = this.backoff.next();
    this.o.logger.warn("firmware download interrupted; will resume", { error: error.report, offset: this.committed, retryInMs: delay, retry: this.retries });
    this.retryTimer = this.o.clock.setTimeout(() => {
      this.retryTimer = undefined;
      if (!this.done) this.attempt();
    }, delay);
  }
}

/**
 * Over-the-air updates from blob storage. A desired `firmware` manifest is checked (signature, size, host,
 * version) before a byte is fetched; the image streams in chunks straight into the inactive slot, hashed on the
 * way, resuming with Range after interruptions; only a verified image is selected for boot. After the restart
 * the new image is pending until it has reached the hub and reported its version; otherwise (a timeout, or too
 * many boots) it is rolled back and the old image reports `rolledBack`. A failure never touches the boot slot.
 */
export class OtaManager {
  private state: OtaStatus = "idle";
  private target: FirmwareManifest | undefined;
  private targetVersion: string | null = null;
  private progress = 0;
  private lastError: string | null = null;
  private download: Download | undefined;
  private confirmTimer: TimerId | undefined;
  private progressTimer: TimerId | undefined;
  private rebootTimer: TimerId | undefined;
  private lastReportAt = -Infinity;
  private reportedStep = -1;
  private confirming = false;
  /**
   * Not to start again from the twin by themselves: images (imageKey) that failed this boot or were rolled back,
   * and manifests (manifestKey) the checks refused — a manifest signed again for the same image (a new expiry,
   * say) is checked afresh.
   */
  private readonly refused = new Set<string>();
  private lastDesired: unknown;
  private readonly statusListeners: Listeners<FirmwareReport>;
  private readonly log: ScopedLogger;

  constructor(private readonly o: OtaManagerOptions) {
    // Whatever it logs, a firmware URL's query (its SAS token) is left out.
    this.log = redactingLogger(o.logger);
    this.statusListeners = new Listeners<FirmwareReport>((e) => this.log.error("firmware status listener failed", { error: errorMessage(e) }));
    compareVersions(o.currentVersion, o.currentVersion); // throws on a malformed build version
    if (!isFirmwareProduct(o.product)) throw new RangeError(`not a firmware product: ${JSON.stringify(o.product)}`);
  }

  get status(): FirmwareReport {
    return { currentVersion: this.o.currentVersion, targetVersion: this.targetVersion, status: this.state, progress: this.progress, lastError: this.lastError };
  }

  /** Bytes downloaded (all attempts) of the running or last download. */
  get bytesReceived(): number {
    return this.receivedTotal;
  }
  private receivedTotal = 0;

  onStatus(listener: (status: FirmwareReport) => void): () => void {
    return this.statusListeners.add(listener);
  }

  /**
   * Call once at start-up, before the hub link. Handles an image pending verification (rollback when it has been
   * booted too often, else the confirmation deadline) and the record a rollback left for this image.
   */
  boot(): void {
    const boot = this.o.writer.bootState();
    // A selected image that is no longer pending was confirmed (the floor rises, also when a restart came between
    // the confirmation and the raise) or rolled back (the record goes).
    if (!boot.pendingVerification) this.settleFloor();
    if (boot.pendingVerification) {
      const max = this.o.maxPendingBoots ?? 3;
      this.targetVersion = this.o.currentVersion;
      this.progress = 100;
      if (boot.pendingBootCount > max) {
        this.rollback(`booted ${boot.pendingBootCount} times without reaching the hub (limit ${max})`);
        return;
      }
      const timeout = this.o.confirmTimeoutMs ?? 10 * 60_000;
      this.log.info("new firmware pending verification", { version: this.o.currentVersion, boot: boot.pendingBootCount, previous: boot.previousVersion, confirmWithinMs: timeout });
      this.setState("applying", false); // reported as "succeeded" once the hub is reached
      this.confirmTimer = this.o.clock.setTimeout(() => {
        this.confirmTimer = undefined;
        this.rollback(`did not reach the hub and report its version within ${duration(timeout)}`);
      }, timeout);
      return;
    }
    if (boot.rollback) {
      const r = boot.rollback;
      this.log.warn("running again after a rollback", { version: this.o.currentVersion, failed: r.version, reason: r.reason });
      if (r.sha256) this.refused.add(imageKey(r.version, r.sha256));
      this.targetVersion = r.version;
      this.lastError = redactUrlsIn(r.reason);
      this.progress = 0;
      this.setState("rolledBack");
      return;
    }
    this.setState("idle", false);
  }

  /**
   * Call whenever the hub link comes up. Reports the running version; a pending image is marked valid once the
   * hub has accepted that report.
   */
  hubConnected(): void {
    if (this.state !== "applying" || this.confirmTimer === undefined) {
      this.publish();
      return;
    }
    if (this.confirming) return;
    this.confirming = true;
    const report: FirmwareReport = { currentVersion: this.o.currentVersion, targetVersion: this.o.currentVersion, status: "succeeded", progress: 100, lastError: null };
    this.o.reporter.report({ [this.o.reportKey ?? "firmware"]: { ...report } }).then(
      () => {
        this.confirming = false;
        if (this.state !== "applying" || this.confirmTimer === undefined) return; // rolled back meanwhile
        try {
          this.o.writer.markValid();
        } catch (error) {
          this.log.error("could not mark the new firmware valid", { error: errorMessage(error) });
          return;
        }
        this.o.clock.clearTimeout(this.confirmTimer);
        this.confirmTimer = undefined;
        this.log.info("new firmware confirmed", { version: this.o.currentVersion });
        this.settleFloor();
        this.lastError = null;
        this.setState("succeeded", false);
        // A manifest that arrived while this image was unconfirmed (the first twin sync) is acted on now.
        if (this.lastDesired !== undefined) this.apply(this.lastDesired, false);
      },
      (error: unknown) => {
        this.confirming = false;
        this.log.warn("version report refused; the image stays pending", { error: errorMessage(error) });
      },
    );
  }

  /** Twin desired-properties listener: acts on `firmware`. */
  onDesired(update: DesiredUpdate): void {
    if (!Object.prototype.hasOwnProperty.call(update.properties, "firmware")) return;
    const value = update.properties["firmware"];
    if (value === null || value === undefined) return;
    this.lastDesired = value;
    this.apply(value, false);
  }

  /**
   * Starts an update from a manifest (the desired property, or the startUpdate method). `force` retries an image
   * that failed or was rolled back. Returns the resulting status; never throws.
   */
  apply(value: unknown, force: boolean): FirmwareReport {
    let m: FirmwareManifest;
    try {
      m = parseManifest(value);
    } catch (error) {
      if (!this.busy) this.failWith(error);
      else this.log.warn("ignored invalid firmware manifest during an update", { error: errorMessage(error) });
      return this.status;
    }
    const key = imageKey(m.version, m.sha256);
    if (this.target && imageKey(this.target.version, this.target.sha256) === key && this.busy) return this.status;
    if (m.version === this.o.currentVersion) {
      this.log.debug("desired firmware is running", { version: m.version });
      return this.status;
    }
    if (this.state === "applying" || this.state === "rebooting") {
      this.log.warn("firmware manifest ignored while an image is being applied or confirmed", { version: m.version });
      return this.status;
    }
    if (!force && (this.refused.has(key) || this.refused.has(manifestKey(m)))) {
      this.log.info("not retrying an image that failed or was rolled back (use startUpdate)", { version: m.version });
      return this.status;
    }
    if (this.download) {
      this.log.warn("a new firmware manifest replaces the running download", { from: this.target?.version, to: m.version });
      this.download.abort();
      this.download = undefined;
    }
    this.start(m);
    return this.status;
  }

  /** Stops a running download (the boot partition is unchanged). False when nothing was running. */
  cancel(reason = "cancelled by the cloud"): boolean {
    if (!this.download) return false;
    this.download.abort();
    this.download = undefined;
    this.failWith(new OtaError("cancelled", reason));
    return true;
  }

  get busy(): boolean {
    return this.state === "downloading" || this.state === "verifying";
  }

  /** Stops timers and any download (shutdown, tests). */
  dispose(): void {
    this.download?.abort();
    this.download = undefined;
    for (const t of [this.confirmTimer, this.progressTimer, this.rebootTimer]) if (t !== undefined) this.o.clock.clearTimeout(t);
    this.confirmTimer = this.progressTimer = this.rebootTimer = undefined;
  }

  private start(m: FirmwareManifest): void {
    this.target = m;
    this.targetVersion = m.version;
    this.progress = 0;
    this.lastError = null;
    this.receivedTotal = 0;
    let url: ParsedUrl;
    try {
      const slots = this.o.writer.slots();
      const securityFloor = this.o.securityFloor.floor();
      if (securityFloor === undefined) throw new OtaError("security-version", "the stored security floor is unusable; every image is refused");
      url = checkManifest(
        m,
        { currentVersion: this.o.currentVersion, slotSize: slots.nextSlotSize, product: this.o.product, securityFloor, now: this.o.wallClock() },
        this.o.crypto,
        this.o.publicKey,
      );
    } catch (error) {
      // Refused for good, except what passes by itself (a clock not set yet): the next twin sync tries again.
      if (!(error instanceof OtaError && error.retryable)) this.refused.add(manifestKey(m));
      this.failWith(error);
      return;
    }
    if (this.o.writer.bootState().rollback) this.o.writer.clearRollback();
    this.log.info("firmware update started", { version: m.version, size: m.size, host: url.host });
    this.reportedStep = 0;
    this.setState("downloading");
    const download: Download = new Download(m, url, { ...this.o, logger: this.log }, {
      progress: (committed) => {
        this.receivedTotal = download.received;
        this.onProgress(Math.floor((committed * 100) / m.size));
      },
      resumed: (offset, retry) => this.log.info("resuming firmware download", { offset, retry }),
      failed: (error) => {
        this.receivedTotal = download.received;
        if (this.download !== download) return;
        this.download = undefined;
        this.refused.add(imageKey(m.version, m.sha256));
        this.failWith(error);
      },
      finished: (digest, session) => {
        this.receivedTotal = download.received;
        if (this.download !== download) return;
        this.download = undefined;
        this.verify(m, digest, session);
      },
    });
    this.download = download;
    download.start();
  }

  private verify(m: FirmwareManifest, digest: Uint8Array, session: UpdateSession): void {
    this.progress = 100;
    this.setState("verifying");
    const hex = toHex(digest);
    if (hex !== m.sha256) {
      session.cancel();
      this.refused.add(imageKey(m.version, m.sha256));
      this.failWith(new OtaError("hash-mismatch", `image SHA-256 ${hex} is not the signed ${m.sha256}`));
      return;
    }
    this.setState("applying");
    try {
      // Before the image is selected: once it is confirmed the floor rises to its security version.
      this.o.securityFloor.setPending({ version: m.version, securityVersion: m.securityVersion });
    } catch (error) {
      session.cancel();
      this.refused.add(imageKey(m.version, m.sha256));
      this.failWith(new OtaError("write-failed", `cannot record the image's security version: ${errorMessage(error)}`));
      return;
    }
    try {
      session.complete();
    } catch (error) {
      session.cancel();
      this.refused.add(imageKey(m.version, m.sha256));
      this.failWith(new OtaError("write-failed", `finalising the image failed: ${errorMessage(error)}`));
      return;
    }
    const delay = this.o.rebootDelayMs ?? 2000;
    this.log.warn("firmware update verified and selected; restarting", { version: m.version, inMs: delay });
    this.setState("rebooting");
    this.rebootTimer = this.o.clock.setTimeout(() => {
      this.rebootTimer = undefined;
      this.o.restart();
    }, delay);
  }

  /** Raises the security floor to a confirmed image's security version, or forgets the record of one that was not. */
  private settleFloor(): void {
    const before = this.o.securityFloor.floor();
    const after = this.o.securityFloor.confirm(this.o.currentVersion);
    if (after !== undefined && before !== undefined && after > before) this.log.info("security floor raised", { from: before, to: after, version: this.o.currentVersion });
  }

  private rollback(reason: string): void {
    const text = `not-confirmed: ${reason}`;
    this.log.error("rolling back to the previous firmware", { version: this.o.currentVersion, reason: text });
    if (this.confirmTimer !== undefined) this.o.clock.clearTimeout(this.confirmTimer);
    this.confirmTimer = undefined;
    this.lastError = text;
    this.setState("rolledBack", false);
    this.o.writer.markInvalidAndRollback(text);
  }

  private failWith(error: unknown): void {
    // lastError is reported to the cloud and logged: never with a URL's query (the SAS token) in it.
    const report = redactUrlsIn(error instanceof OtaError ? error.report : `write-failed: ${errorMessage(error)}`);
    this.log.warn("firmware update failed", { version: this.targetVersion, error: report });
    this.lastError = report;
    this.setState("failed");
  }

  private setState(state: OtaStatus, report = true): void {
    this.state = state;
    if (this.progressTimer !== undefined) this.o.clock.clearTimeout(this.progressTimer);
    this.progressTimer = undefined;
    this.statusListeners.emit(this.status);
    if (report) this.publish();
  }

  /** Progress is reported at 10 % steps, never more often than progressIntervalMs (a step due is sent when it elapses). */
  private onProgress(percent: number): void {
    if (percent === this.progress) return;
    this.progress = percent;
    this.statusListeners.emit(this.status);
    const step = Math.floor(percent / 10);
    if (step <= this.reportedStep || this.progressTimer !== undefined) return;
    const wait = this.lastReportAt + (this.o.progressIntervalMs ?? 10_000) - this.o.clock.monotonic();
    if (wait <= 0) this.publish();
    else
      this.progressTimer = this.o.clock.setTimeout(() => {
        this.progressTimer = undefined;
        if (this.state === "downloading") this.publish();
      }, wait);
  }

  private publish(): void {
    this.lastReportAt = this.o.clock.monotonic();
    this.reportedStep = Math.floor(this.progress / 10);
    this.o.reporter.report({ [this.o.reportKey ?? "firmware"]: { ...this.status } }).catch((error: unknown) => this.log.warn("firmware report failed", { error: errorMessage(error) }));
  }

  /** For the startUpdate method: retries the last desired manifest when called without one. */
  startFromMethod(payload: unknown): FirmwareReport {
    const value = payload === null || payload === undefined || (typeof payload === "object" && Object.keys(payload as object).length === 0) ? this.lastDesired : payload;
    if (value === undefined) throw new MethodError(400, "no firmware manifest given and none desired");
    const result = this.apply(value, true);
    if (result.status === "failed" && result.lastError?.startsWith("invalid-manifest")) throw new MethodError(400, result.lastError);
    return result;
  }
}

/** Direct method `startUpdate`: payload = a firmware manifest, or nothing to retry the desired one. */
export function startUpdateHandler(ota: OtaManager): MethodHandler {
  return (payload) => ota.startFromMethod(payload);
}

/** Direct method `cancelUpdate`. */
export function cancelUpdateHandler(ota: OtaManager): MethodHandler {
  return (payload) => {
    const reason = typeof payload === "object" && payload !== null && typeof (payload as { reason?: unknown }).reason === "string" ? String((payload as { reason: string }).reason).slice(0, 100) : "cancelled by the cloud";
    return { cancelled: ota.cancel(reason), status: ota.status.status };
  };
}
