import type { Clock, TimerId } from "../ports/clock";
import type { DatagramPort, DatagramSocket, DatagramSource } from "../ports/udp";
import type { Random } from "../ports/random";
import type { ScopedLogger } from "../ports/logger";
import { Backoff, type BackoffOptions } from "../core/backoff";
import { Listeners, errorMessage } from "../core/listeners";
import { SntpReplyError, decodeReply, encodeRequest, type SntpRequest, type SntpTime } from "./sntp-packet";
import type { SyncedClock } from "./synced-clock";
import { isoTime, type TimeSanity } from "./time-sanity";

/** The NTP servers of the integration guide (section 2.1): one is chosen at random. */
export const EUROPE_POOL: readonly string[] = ["0.europe.pool.ntp.org", "1.europe.pool.ntp.org", "2.europe.pool.ntp.org", "3.europe.pool.ntp.org"];

export const NTP_PORT = 123;

export interface SntpClientOptions {
  readonly datagrams: DatagramPort;
  /** Timers, and T1 of each exchange (T4 is T1 plus the monotonic time elapsed). */
  readonly clock: Clock;
  readonly random: Random;
  readonly logger: ScopedLogger;
  /** Where `start()` applies each result. */
  readonly syncedClock?: SyncedClock;
  /**
   * The rules a time must pass before `start()` applies it (the floor; a step of more than a day from the valid
   * clock, or from the floor before the first synchronisation, confirmed by a second server). None: every time
   * is applied (tests, tools). `syncOnce()` never applies them.
   */
  readonly sanity?: TimeSanity;
  /** Default EUROPE_POOL. */
  readonly servers?: readonly string[];
  /** Default 123. */
  readonly port?: number;
  /** How long to wait for each server's reply; default 3000 ms. */
  readonly requestTimeoutMs?: number;
  /** Delay between rounds when every server failed (full jitter); default 2 s growing to 5 min. */
  readonly retryBackoff?: BackoffOptions;
  /** Time between successful synchronisations; default 1 h. */
  readonly resyncIntervalMs?: number;
  /** How long a server that sent kiss-o'-death DENY or RSTR is skipped; default 1 h. */
  readonly denyHoldMs?: number;
  /** How long a server that sent kiss-o'-death RATE is first skipped (doubling while it repeats, up to denyHoldMs); default 1 min. */
  readonly rateHoldMs?: number;
}

/** One successful exchange. */
export interface SntpSample extends SntpTime {
  /** The server name as configured. */
  readonly server: string;
  /** Where the reply came from. */
  readonly from: DatagramSource;
  /** `clock.monotonic()` at arrival (T4), to carry the result forward to the moment it is applied. */
  readonly arrivalMonotonic: number;
}

export type SntpFailureKind = "timeout" | "send" | "reply" | "kiss" | "held";

/** The server's time at the monotonic moment `atMonotonic`: its time at arrival plus the monotonic time run since. */
export function sampleTimeAt(sample: SntpSample, atMonotonic: number): number {
  return sample.t4 + sample.offsetMs + (atMonotonic - sample.arrivalMonotonic);
}

/** Why one server did not give us the time. */
export class SntpServerError extends Error {
  override readonly name = "SntpServerError";
  constructor(
    readonly server: string,
    readonly kind: SntpFailureKind,
    message: string,
    /** The SntpRejectReason for "reply", the kiss code for "kiss" and "held". */
    readonly detail?: string,
    /** The underlying error (a send failure, such as EgressDeniedError or a DNS error). */
    cause?: unknown,
  ) {
    super(`${server}: ${message}`, cause === undefined ? undefined : { cause });
  }
}

/** Every server failed; `failures` lists each one's reason, in the order they were tried. */
export class SntpSyncError extends Error {
  override readonly name = "SntpSyncError";
  constructor(readonly failures: readonly SntpServerError[]) {
    super(`no NTP server gave the time: ${failures.map((f) => f.message).join("; ")}`);
  }
}

export type SntpState = "stopped" | "syncing" | "waiting";

export interface SntpStatus {
  readonly state: SntpState;
  /** True once a synchronisation has succeeded (stays true while later ones fail). */
  readonly synced: boolean;
  /** The server of the last success. */
  readonly lastServer: string | undefined;
  /** The last failure (of a whole round), cleared by a success. */
  readonly lastError: string | undefined;
  readonly lastSample: SntpSample | undefined;
  /** Consecutive failed rounds. */
  readonly failures: number;
  /** Delay before the next round, when waiting. */
  readonly nextSyncInMs: number | undefined;
}

interface Hold {
  readonly until: number;
  readonly code: string;
  /** The hold that a repeated RATE would double. */
  readonly rateHoldMs: number;
}

/**
 * SNTPv4 client (RFC 4330). `syncOnce` asks the servers one at a time, starting at a random one and
 * failing over on any failure; `start` keeps the clock set: sync, apply, resync later; after a failed
 * round retry with backoff, forever. With `sanity`, `start` applies only a time the rules accept (see
 * TimeSanity); a refused time fails the round like an unreachable pool.
 */
export class SntpClient {
  private readonly servers: readonly string[];
  private readonly port: number;
  private readonly requestTimeoutMs: number;
  private readonly resyncIntervalMs: number;
  private readonly denyHoldMs: number;
  private readonly rateHoldMs: number;
  private readonly backoff: Backoff;
  private readonly holds = new Map<string, Hold>();
  private readonly syncListeners: Listeners<SntpSample>;
  private state: SntpState = "stopped";
  private lastSample: SntpSample | undefined;
  private lastError: string | undefined;
  private nextSyncInMs: number | undefined;
  private timer: TimerId | undefined;
  private generation = 0;

  constructor(private readonly options: SntpClientOptions) {
    this.servers = options.servers ?? EUROPE_POOL;
    this.port = options.port ?? NTP_PORT;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 3000;
    this.resyncIntervalMs = options.resyncIntervalMs ?? 60 * 60_000;
    this.denyHoldMs = options.denyHoldMs ?? 60 * 60_000;
    this.rateHoldMs = options.rateHoldMs ?? 60_000;
    if (this.servers.length === 0) throw new RangeError("SntpClient: need at least one server");
    if (!(this.requestTimeoutMs > 0) || !(this.resyncIntervalMs > 0) || !(this.denyHoldMs > 0) || !(this.rateHoldMs > 0)) {
      throw new RangeError("SntpClient: requestTimeoutMs, resyncIntervalMs, denyHoldMs and rateHoldMs must be > 0");
    }
    this.backoff = new Backoff(options.retryBackoff ?? { initialMs: 2000, maxMs: 5 * 60_000 }, options.random);
    this.syncListeners = new Listeners<SntpSample>((e) => options.logger.error("sync listener failed", { error: errorMessage(e) }));
  }

  get status(): SntpStatus {
    return {
      state: this.state,
      synced: this.lastSample !== undefined,
      lastServer: this.lastSample?.server,
      lastError: this.lastError,
      lastSample: this.lastSample,
      failures: this.backoff.attempts,
      nextSyncInMs: this.nextSyncInMs,
    };
  }

  /** The last successful sample, if any. */
  get last(): SntpSample | undefined {
    return this.lastSample;
  }

  /** Called after each successful synchronisation of `start()` (after the time was applied). */
  onSync(listener: (sample: SntpSample) => void): () => void {
    return this.syncListeners.add(listener);
  }

  /** Asks the servers in turn, from a random one, until one gives a valid time. */
  async syncOnce(): Promise<SntpSample> {
    const n = this.servers.length;
    const first = Math.min(n - 1, Math.floor(this.options.random.next() * n));
    const order: string[] = [];
    for (let i = 0; i < n; i++) order.push(this.servers[(first + i) % n]!);
    const failures: SntpServerError[] = [];
    const sample = await this.firstAnswer(order, failures);
    if (sample) return sample;
    throw new SntpSyncError(failures);
  }

  /**
   * Asks `servers` one at a time until one answers (and `independent`, when given, accepts the answer); every
   * failure is added to `failures`. Undefined when none did.
   */
  private async firstAnswer(servers: readonly string[], failures: SntpServerError[], independent?: (sample: SntpSample) => boolean): Promise<SntpSample | undefined> {
    for (const server of servers) {
      const hold = this.holds.get(server);
      const now = this.options.clock.monotonic();
      if (hold && hold.until > now) {
        failures.push(new SntpServerError(server, "held", `skipped for ${Math.ceil(hold.until - now)} ms after kiss-o'-death ${hold.code}`, hold.code));
        continue;
      }
      try {
        const sample = await this.query(server);
        this.holds.delete(server);
        if (independent && !independent(sample)) {
          this.options.logger.info("NTP server answered from the same address as the first: not a second server", { server, from: `${sample.from.address}:${sample.from.port}` });
          continue;
        }
        return sample;
      } catch (error) {
        const failure = error instanceof SntpServerError ? error : new SntpServerError(server, "send", errorMessage(error), undefined, error);
        failures.push(failure);
        this.options.logger.warn("NTP server failed", { server, kind: failure.kind, error: failure.message });
        if (failure.kind === "kiss") this.holdAfterKiss(server, failure.detail ?? "");
      }
    }
    return undefined;
  }

  /**
   * One synchronisation with the sanity rules: `syncOnce()`, then the floor, and for a step of more than a day a
   * second server (another name, answering from another address) that must agree. Rejects with TimeRefusedError
   * for a refused time; resolves with the sample to apply (the confirming one after a confirmed step).
   */
  private async syncChecked(): Promise<{ readonly sample: SntpSample; readonly confirmed: boolean }> {
    const sample = await this.syncOnce();
    const sanity = this.options.sanity;
    if (!sanity) return { sample, confirmed: false };
    const { clock, logger } = this.options;
    const target = this.options.syncedClock;
    const current = (): number | undefined => sanity.referenceAt(clock.monotonic()) ?? (target?.valid ? target.now() : undefined);
    const offered = sampleTimeAt(sample, clock.monotonic());
    const verdict = sanity.judge(offered, current());
    if (verdict.kind === "accept") return { sample, confirmed: false };
    if (verdict.kind === "refuse") throw sanity.refuse({ reason: verdict.reason, offeredMs: offered, server: sample.server });
    logger.info("time step needs a second server", {
      server: sample.server,
      offered: isoTime(offered),
      stepS: Math.round(verdict.stepMs / 1000),
      from: verdict.reference,
    });
    const n = this.servers.length;
    const start = this.servers.indexOf(sample.server);
    const others: string[] = [];
    for (let i = 1; i < n; i++) {
      const server = this.servers[(start + i) % n]!;
      if (server !== sample.server) others.push(server);
    }
    const sameSource = (s: SntpSample): boolean => s.from.address === sample.from.address && s.from.port === sample.from.port;
    const second = await this.firstAnswer(others, [], (s) => !sameSource(s));
    const at = clock.monotonic();
    const a = sampleTimeAt(sample, at);
    if (!second) throw sanity.refuse({ reason: "unconfirmed", offeredMs: a, server: sample.server });
    const b = sampleTimeAt(second, at);
    if (!sanity.agree(a, b)) throw sanity.refuse({ reason: "disagree", offeredMs: a, server: sample.server, otherServer: second.server, otherMs: b });
    if (sanity.judge(b, current()).kind === "refuse") throw sanity.refuse({ reason: "below-floor", offeredMs: b, server: second.server });
    logger.info("time step confirmed by a second server", { server: sample.server, confirmedBy: second.server, differenceMs: Math.round(b - a) });
    return { sample: second, confirmed: true };
  }

  /** Keeps the time: synchronise now, then every resyncIntervalMs; after a failed round, retry with backoff. */
  start(): void {
    if (this.state !== "stopped") return;
    this.round(++this.generation);
  }

  stop(): void {
    this.generation++;
    if (this.timer !== undefined) this.options.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.nextSyncInMs = undefined;
    this.state = "stopped";
  }

  private round(generation: number): void {
    this.state = "syncing";
    this.nextSyncInMs = undefined;
    this.syncChecked().then(
      ({ sample, confirmed }) => {
        if (generation !== this.generation) return;
        this.lastSample = sample;
        this.lastError = undefined;
        this.backoff.reset();
        this.apply(sample, confirmed);
        this.options.logger.info("time synchronised", {
          server: sample.server,
          offsetMs: Math.round(sample.offsetMs),
          delayMs: Math.round(sample.delayMs),
          stratum: sample.stratum,
        });
        this.schedule(generation, this.resyncIntervalMs);
        this.syncListeners.emit(sample);
      },
      (error: unknown) => {
        if (generation !== this.generation) return;
        this.lastError = errorMessage(error);
        const delay = this.backoff.next();
        this.options.logger.warn("time synchronisation failed", { error: this.lastError, failures: this.backoff.attempts, retryInMs: delay });
        this.schedule(generation, delay);
      },
    );
  }

  private schedule(generation: number, delayMs: number): void {
    this.state = "waiting";
    this.nextSyncInMs = delayMs;
    this.timer = this.options.clock.setTimeout(() => {
      this.timer = undefined;
      if (generation === this.generation) this.round(generation);
    }, delayMs);
  }

  /** The server's time now: the time at arrival plus what the monotonic clock has run since. */
  private apply(sample: SntpSample, confirmed: boolean): void {
    const monotonic = this.options.clock.monotonic();
    const epochMs = sampleTimeAt(sample, monotonic);
    this.options.sanity?.applied(epochMs, monotonic, confirmed);
    this.options.syncedClock?.set(epochMs);
  }

  private holdAfterKiss(server: string, code: string): void {
    const now = this.options.clock.monotonic();
    if (code === "DENY" || code === "RSTR") {
      this.holds.set(server, { until: now + this.denyHoldMs, code, rateHoldMs: this.rateHoldMs });
    } else if (code === "RATE") {
      const previous = this.holds.get(server);
      const holdMs = previous?.code === "RATE" ? Math.min(this.denyHoldMs, previous.rateHoldMs * 2) : this.rateHoldMs;
      this.holds.set(server, { until: now + holdMs, code, rateHoldMs: holdMs });
    }
  }

  /** One exchange with one server, on its own socket (a fresh source port). */
  private query(server: string): Promise<SntpSample> {
    const { clock, random, logger } = this.options;
    return new Promise<SntpSample>((resolve, reject) => {
      let done = false;
      let socket: DatagramSocket | undefined;
      let timer: TimerId | undefined;
      const finish = (result: SntpSample | SntpServerError): void => {
        if (done) return;
        done = true;
        if (timer !== undefined) clock.clearTimeout(timer);
        try {
          socket?.close();
        } catch {
          // closing is best effort
        }
        if (result instanceof SntpServerError) reject(result);
        else resolve(result);
      };
      let request: SntpRequest | undefined;
      let sentMonotonic = 0;
      const onMessage = (data: Uint8Array, from: DatagramSource): void => {
        if (done || !request) return;
        // T4 from T1 and the monotonic clock: a finer resolution than now() on some platforms, and
        // immune to the wall clock being stepped during the exchange.
        const arrivalMonotonic = clock.monotonic();
        const t4 = request.sentAtMs + (arrivalMonotonic - sentMonotonic);
        try {
          const reply = decodeReply(data, request, t4);
          if (reply.kind === "kiss") {
            finish(new SntpServerError(server, "kiss", `kiss-o'-death ${reply.code}`, reply.code));
            return;
          }
          finish({ ...reply, server, from, arrivalMonotonic });
        } catch (error) {
          if (error instanceof SntpReplyError && error.reason === "originate") {
            logger.debug("ignoring a stray datagram", { server, from: `${from.address}:${from.port}` });
            return; // not the reply to this request: keep waiting
          }
          const reason = error instanceof SntpReplyError ? error.reason : undefined;
          finish(new SntpServerError(server, "reply", `bad reply: ${errorMessage(error)}`, reason));
        }
      };
      try {
        socket = this.options.datagrams.open({ onMessage });
        timer = clock.setTimeout(() => {
          timer = undefined;
          finish(new SntpServerError(server, "timeout", `no reply within ${this.requestTimeoutMs} ms`));
        }, this.requestTimeoutMs);
        sentMonotonic = clock.monotonic();
        request = encodeRequest(clock.now(), random);
        // T1 is taken before send(), which on the device includes the name look-up: the offset is off by at
        // most half the look-up time (tens of ms, once: lwIP caches), plenty for certificate dates and event
        // times. Taking T1 when send() resolves instead adds the event loop's latency and gave negative delays.
        socket.send(server, this.port, request.bytes).catch((error: unknown) => {
          finish(new SntpServerError(server, "send", `send failed: ${errorMessage(error)}`, undefined, error));
        });
      } catch (error) {
        finish(new SntpServerError(server, "send", `send failed: ${errorMessage(error)}`, undefined, error));
      }
    });
  }
}
