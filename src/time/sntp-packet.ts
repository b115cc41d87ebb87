import type { Random } from "../ports/random";

/**
 * SNTPv4 packets (RFC 4330): the 48-byte client request and the checks a reply must pass.
 *
 * Timestamps on the wire are 64-bit NTP timestamps: 32 bits of seconds since 1900 (era 0) and 32 bits
 * of fraction. On our side every time is a number of ms since the Unix epoch.
 */

export const NTP_PACKET_SIZE = 48;

/** Seconds from 1900-01-01 (NTP era 0) to 1970-01-01. */
export const NTP_UNIX_OFFSET_S = 2_208_988_800;

const TWO_POW_32 = 4_294_967_296;

/** How many low bits of the transmit fraction are random (2^24 units of 2^-32 s is about 3.9 ms). */
export const RANDOM_FRACTION_BITS = 24;

export const MODE_CLIENT = 3;
export const MODE_SERVER = 4;
export const LEAP_UNSYNCHRONISED = 3;

/** Why a reply was rejected. */
export type SntpRejectReason =
  /** Fewer than 48 bytes. */
  | "short"
  /** The originate timestamp is not our transmit timestamp: a stray, late or forged datagram. */
  | "originate"
  /** Not mode 4 (server). */
  | "mode"
  /** Not version 3 or 4. */
  | "version"
  /** Leap indicator 3: the server's clock is not synchronised. */
  | "unsynchronised"
  /** Stratum 16 or more (unsynchronised or invalid). */
  | "stratum"
  /** The server's transmit timestamp is zero. */
  | "zero-transmit";

export class SntpReplyError extends Error {
  override readonly name = "SntpReplyError";
  constructor(
    readonly reason: SntpRejectReason,
    message: string,
  ) {
    super(message);
  }
}

/** A request on its way: the bytes to send and what the reply must echo. */
export interface SntpRequest {
  readonly bytes: Uint8Array;
  /** Our transmit timestamp as sent (8 bytes); the reply's originate timestamp must equal it exactly. */
  readonly transmit: Uint8Array;
  /** T1: our clock (Unix ms) when the request was sent; used for the arithmetic instead of the randomised wire value. */
  readonly sentAtMs: number;
}

/** A valid time reply. T1..T4 and the results are in ms. */
export interface SntpTime {
  readonly kind: "time";
  readonly leap: number;
  readonly version: number;
  readonly stratum: number;
  readonly poll: number;
  readonly precision: number;
  /** Stratum 1: the source's ASCII code (e.g. "GPS"); otherwise the upstream server's IPv4 form. */
  readonly referenceId: string;
  /** Our send time (Unix ms, our clock). */
  readonly t1: number;
  /** Server receive time (Unix ms, server clock). */
  readonly t2: number;
  /** Server transmit time (Unix ms, server clock). */
  readonly t3: number;
  /** Our arrival time (Unix ms, our clock). */
  readonly t4: number;
  /** What to add to our clock to get the server's: ((T2 - T1) + (T3 - T4)) / 2. */
  readonly offsetMs: number;
  /** Round trip through the network: (T4 - T1) - (T3 - T2). */
  readonly delayMs: number;
}

/** A kiss-o'-death reply (stratum 0): the server tells us to go away (DENY, RSTR) or slow down (RATE). */
export interface SntpKiss {
  readonly kind: "kiss";
  readonly code: string;
  readonly version: number;
}

export type SntpReply = SntpTime | SntpKiss;

/** NTP seconds and fraction (each an unsigned 32-bit number) for a Unix time in ms, fractional ms allowed. */
export function unixMsToNtp(unixMs: number): { seconds: number; fraction: number } {
  const unixSeconds = Math.floor(unixMs / 1000);
  const remainderMs = unixMs - unixSeconds * 1000;
  let fraction = Math.floor((remainderMs * TWO_POW_32) / 1000);
  let seconds = unixSeconds + NTP_UNIX_OFFSET_S;
  if (fraction >= TWO_POW_32) {
    fraction -= TWO_POW_32;
    seconds += 1;
  }
  // Era 1 starts in 2036: the seconds wrap modulo 2^32.
  seconds = ((seconds % TWO_POW_32) + TWO_POW_32) % TWO_POW_32;
  return { seconds, fraction };
}

/**
 * Unix ms for an NTP timestamp. RFC 4330 section 3: if the most significant bit of the seconds is set
 * the time is in era 0 (1968-2036, counted from 1900); if it is clear, era 1 (2036-2104, counted from
 * 2036-02-07T06:28:16Z).
 */
export function ntpToUnixMs(seconds: number, fraction: number): number {
  const s = seconds >>> 0;
  const eraSeconds = s >= 0x80000000 ? s : s + TWO_POW_32;
  return (eraSeconds - NTP_UNIX_OFFSET_S) * 1000 + ((fraction >>> 0) * 1000) / TWO_POW_32;
}

function readU32(data: Uint8Array, at: number): number {
  return ((data[at]! << 24) | (data[at + 1]! << 16) | (data[at + 2]! << 8) | data[at + 3]!) >>> 0;
}

function writeU32(data: Uint8Array, at: number, value: number): void {
  data[at] = (value >>> 24) & 0xff;
  data[at + 1] = (value >>> 16) & 0xff;
  data[at + 2] = (value >>> 8) & 0xff;
  data[at + 3] = value & 0xff;
}

/** Reads the NTP timestamp at `at` as Unix ms. */
export function readTimestamp(data: Uint8Array, at: number): number {
  return ntpToUnixMs(readU32(data, at), readU32(data, at + 4));
}

/** Writes the Unix time `unixMs` as an NTP timestamp at `at`. */
export function writeTimestamp(data: Uint8Array, at: number, unixMs: number): void {
  const { seconds, fraction } = unixMsToNtp(unixMs);
  writeU32(data, at, seconds);
  writeU32(data, at + 4, fraction);
}

/**
 * A client request: LI 0, VN 4, mode 3, everything zero but the transmit timestamp, which is our send
 * time with its low RANDOM_FRACTION_BITS bits (below the clock's ms resolution) drawn from `random`, so
 * an off-path sender cannot guess the originate timestamp a valid reply must carry.
 */
export function encodeRequest(sentAtMs: number, random: Random): SntpRequest {
  const bytes = new Uint8Array(NTP_PACKET_SIZE);
  bytes[0] = (0 << 6) | (4 << 3) | MODE_CLIENT; // 0x23
  const { seconds, fraction } = unixMsToNtp(sentAtMs);
  const lowMask = (1 << RANDOM_FRACTION_BITS) - 1;
  const noise = Math.floor(random.next() * (lowMask + 1)) & lowMask;
  writeU32(bytes, 40, seconds);
  writeU32(bytes, 44, ((fraction & ~lowMask) | noise) >>> 0);
  return { bytes, transmit: bytes.slice(40, 48), sentAtMs };
}

function isZero(data: Uint8Array, at: number, length: number): boolean {
  for (let i = at; i < at + length; i++) if (data[i] !== 0) return false;
  return true;
}

function ascii(data: Uint8Array, at: number, length: number): string {
  let out = "";
  for (let i = at; i < at + length; i++) {
    const c = data[i]!;
    if (c === 0) break;
    out += c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : "?";
  }
  return out;
}

/** The kiss code (e.g. "DENY") of a stratum-0 reply's reference identifier. */
export function kissCode(data: Uint8Array): string {
  return ascii(data, 12, 4);
}

function referenceId(data: Uint8Array, stratum: number): string {
  if (stratum <= 1) return ascii(data, 12, 4);
  return `${data[12]}.${data[13]}.${data[14]}.${data[15]}`;
}

/**
 * Decodes and validates a reply to `request` that arrived at `arrivalMs` (our clock, Unix ms). Throws
 * SntpReplyError for anything that must not be used. A reply without our originate timestamp is a
 * stray (reason "originate"): a client keeps waiting for the real one.
 */
export function decodeReply(data: Uint8Array, request: SntpRequest, arrivalMs: number): SntpReply {
  if (data.length < NTP_PACKET_SIZE) throw new SntpReplyError("short", `reply too short: ${data.length} bytes, need ${NTP_PACKET_SIZE}`);
  for (let i = 0; i < 8; i++) {
    if (data[24 + i] !== request.transmit[i]) throw new SntpReplyError("originate", "originate timestamp does not match our transmit timestamp");
  }
  const leap = data[0]! >>> 6;
  const version = (data[0]! >>> 3) & 7;
  const mode = data[0]! & 7;
  const stratum = data[1]!;
  if (mode !== MODE_SERVER) throw new SntpReplyError("mode", `reply has mode ${mode}, expected ${MODE_SERVER} (server)`);
  if (version !== 3 && version !== 4) throw new SntpReplyError("version", `reply has version ${version}, expected 3 or 4`);
  // Before the leap check: kiss-o'-death packets usually carry LI 3 as well.
  if (stratum === 0) return { kind: "kiss", code: kissCode(data), version };
  if (leap === LEAP_UNSYNCHRONISED) throw new SntpReplyError("unsynchronised", "server clock is not synchronised (leap indicator 3)");
  if (stratum >= 16) throw new SntpReplyError("stratum", `server stratum ${stratum} is not synchronised (need 1-15)`);
  if (isZero(data, 40, 8)) throw new SntpReplyError("zero-transmit", "server transmit timestamp is zero");

  const t1 = request.sentAtMs;
  const t2 = readTimestamp(data, 32);
  const t3 = readTimestamp(data, 40);
  const t4 = arrivalMs;
  return {
    kind: "time",
    leap,
    version,
    stratum,
    poll: (data[2]! << 24) >> 24,
    precision: (data[3]! << 24) >> 24,
    referenceId: referenceId(data, stratum),
    t1,
    t2,
    t3,
    t4,
    offsetMs: (t2 - t1 + (t3 - t4)) / 2,
    delayMs: t4 - t1 - (t3 - t2),
  };
}
