/**
 * The captive DNS responder of setup mode: every A question is answered with the device's own address, so a
 * phone that joins the setup access point opens the setup page whatever name it asks for (its captive-portal
 * check included). Everything else gets an empty answer (AAAA, MX…), NOTIMP (opcodes other than QUERY) or
 * FORMERR (a query that does not parse); junk that is not a query at all gets no reply.
 *
 * The codec is bounded and defensive: at most MAX_QUESTIONS questions, names of at most 255 bytes with labels
 * of at most 63, compression pointers only backwards and at most MAX_POINTERS of them per name (no loops),
 * replies of at most 512 bytes (TC set when the answers do not fit). `answerDnsQuery` never throws.
 */

export const DNS_PORT = 53;
/** RFC 1035 §2.3.4: the classic UDP reply limit (no EDNS). */
export const MAX_REPLY_BYTES = 512;
/** Queries larger than this are dropped unread (an EDNS buffer size is the most a client would send). */
export const MAX_QUERY_BYTES = 1500;
export const MAX_QUESTIONS = 4;
const MAX_POINTERS = 8;
const MAX_NAME_BYTES = 255;
export const ANSWER_TTL_S = 60;

export const TYPE_A = 1;
export const CLASS_IN = 1;
export const RCODE = Object.freeze({ NOERROR: 0, FORMERR: 1, NOTIMP: 4 });

export interface DnsQuestion {
  /** Lower-case dotted name without the trailing dot ("" for the root). */
  readonly name: string;
  readonly type: number;
  readonly class: number;
  /** The question's bytes as sent (name uncompressed), for the reply. */
  readonly wire: Uint8Array;
}

export type DnsParse =
  | { readonly ok: true; readonly id: number; readonly flags: number; readonly questions: readonly DnsQuestion[] }
  /** The header was read but the rest is not a usable query: answer `rcode`. */
  | { readonly ok: false; readonly id: number; readonly flags: number; readonly rcode: number; readonly reason: string }
  /** Not worth a reply (too short for a header, a response, oversized). */
  | { readonly ok: false; readonly drop: true; readonly reason: string };

class Malformed extends Error {}

/** Reads a (possibly compressed) name at `offset`; returns its labels and where the question continues. */
function readName(data: Uint8Array, offset: number): { labels: string[]; next: number } {
  const labels: string[] = [];
  let length = 1; // the root label
  let pos = offset;
  let next = -1;
  let pointers = 0;
  for (;;) {
    if (pos >= data.length) throw new Malformed("name runs past the end");
    const len = data[pos]!;
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= data.length) throw new Malformed("truncated compression pointer");
      const target = ((len & 0x3f) << 8) | data[pos + 1]!;
      // Only backwards, and only a few: a pointer can never loop.
      if (target >= pos) throw new Malformed("compression pointer does not point backwards");
      if (++pointers > MAX_POINTERS) throw new Malformed("too many compression pointers");
      if (next < 0) next = pos + 2;
      pos = target;
      continue;
    }
    if ((len & 0xc0) !== 0) throw new Malformed("reserved label type");
    if (len === 0) {
      if (next < 0) next = pos + 1;
      return { labels, next };
    }
    if (pos + 1 + len > data.length) throw new Malformed("label runs past the end");
    length += len + 1;
    if (length > MAX_NAME_BYTES) throw new Malformed("name longer than 255 bytes");
    let label = "";
    for (let i = pos + 1; i <= pos + len; i++) {
      const c = data[i]!;
      // Names are compared case-insensitively; non-printable bytes are kept as \DDD so nothing odd reaches a log.
      label += c > 0x20 && c < 0x7f && c !== 0x2e && c !== 0x5c ? String.fromCharCode(c).toLowerCase() : `\\${String(c).padStart(3, "0")}`;
    }
    labels.push(label);
    pos += 1 + len;
  }
}

/** Encodes labels uncompressed (names here come from readName, so they fit). */
function nameWire(data: Uint8Array, offset: number): Uint8Array {
  // Re-read the raw labels so the reply carries the bytes the client sent (case included, RFC 1035 §7.3 0x20 bit).
  const out: number[] = [];
  let pos = offset;
  let pointers = 0;
  for (;;) {
    const len = data[pos]!;
    if ((len & 0xc0) === 0xc0) {
      pos = ((len & 0x3f) << 8) | data[pos + 1]!;
      if (++pointers > MAX_POINTERS) throw new Malformed("too many compression pointers");
      continue;
    }
    out.push(len);
    if (len === 0) return Uint8Array.from(out);
    for (let i = 1; i <= len; i++) out.push(data[pos + i]!);
    pos += 1 + len;
  }
}

/** Parses a query; never throws. */
export function parseDnsQuery(data: Uint8Array): DnsParse {
  if (data.length < 12) return { ok: false, drop: true, reason: "shorter than a DNS header" };
  if (data.length > MAX_QUERY_BYTES) return { ok: false, drop: true, reason: "oversized datagram" };
  const id = (data[0]! << 8) | data[1]!;
  const flags = (data[2]! << 8) | data[3]!;
  if (flags & 0x8000) return { ok: false, drop: true, reason: "a response, not a query" };
  const opcode = (flags >> 11) & 0xf;
  if (opcode !== 0) return { ok: false, id, flags, rcode: RCODE.NOTIMP, reason: `opcode ${opcode} not implemented` };
  const qdcount = (data[4]! << 8) | data[5]!;
  if (qdcount === 0) return { ok: false, id, flags, rcode: RCODE.FORMERR, reason: "no question" };
  if (qdcount > MAX_QUESTIONS) return { ok: false, id, flags, rcode: RCODE.FORMERR, reason: `${qdcount} questions (at most ${MAX_QUESTIONS})` };
  const questions: DnsQuestion[] = [];
  let pos = 12;
  try {
    for (let q = 0; q < qdcount; q++) {
      const { labels, next } = readName(data, pos);
      if (next + 4 > data.length) throw new Malformed("question runs past the end");
      const wire = nameWire(data, pos);
      const type = (data[next]! << 8) | data[next + 1]!;
      const klass = (data[next + 2]! << 8) | data[next + 3]!;
      const question = new Uint8Array(wire.length + 4);
      question.set(wire, 0);
      question.set(data.subarray(next, next + 4), wire.length);
      questions.push({ name: labels.join("."), type, class: klass, wire: question });
      pos = next + 4;
    }
  } catch (error) {
    if (!(error instanceof Malformed)) throw error;
    return { ok: false, id, flags, rcode: RCODE.FORMERR, reason: error.message };
  }
  // Answer, authority and additional records (an EDNS OPT, say) are not read: a query's answer does not depend on them.
  return { ok: true, id, flags, questions };
}

function header(id: number, queryFlags: number, rcode: number, qd: number, an: number, truncated: boolean): Uint8Array {
  // QR=1, the query's opcode and RD, AA=1 (we are the authority for everything while in setup mode), RA=0.
  const flags = 0x8000 | (queryFlags & 0x7800) | 0x0400 | (truncated ? 0x0200 : 0) | (queryFlags & 0x0100) | (rcode & 0xf);
  return Uint8Array.from([id >> 8, id & 0xff, flags >> 8, flags & 0xff, 0, qd, 0, an, 0, 0, 0, 0]);
}

/** The IPv4 address as 4 bytes; throws a RangeError for anything else. */
export function ipv4Bytes(address: string): Uint8Array {
  const parts = address.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p) && Number(p) <= 255)) throw new RangeError(`not an IPv4 address: ${address}`);
  return Uint8Array.from(parts.map(Number));
}

/**
 * The reply to `query` (every A/IN question answered with `address`), or undefined when it deserves none.
 * Never throws: anything unexpected is dropped.
 */
export function answerDnsQuery(query: Uint8Array, address: Uint8Array): Uint8Array | undefined {
  try {
    if (address.length !== 4) return undefined;
    const parsed = parseDnsQuery(query);
    if (!parsed.ok) return "drop" in parsed ? undefined : header(parsed.id, parsed.flags, parsed.rcode, 0, 0, false);
    const parts: Uint8Array[] = [];
    const offsets: number[] = [];
    let size = 12;
    for (const q of parsed.questions) {
      offsets.push(size);
      parts.push(q.wire);
      size += q.wire.length;
    }
    if (size > MAX_REPLY_BYTES) return header(parsed.id, parsed.flags, RCODE.NOERROR, 0, 0, true);
    let answers = 0;
    let truncated = false;
    parsed.questions.forEach((q, i) => {
      if (q.type !== TYPE_A || q.class !== CLASS_IN) return;
      if (size + 16 > MAX_REPLY_BYTES) {
        truncated = true;
        return;
      }
      const at = offsets[i]!; // a pointer to the question's name
      parts.push(Uint8Array.from([0xc0 | (at >> 8), at & 0xff, 0, TYPE_A, 0, CLASS_IN, 0, 0, ANSWER_TTL_S >> 8, ANSWER_TTL_S & 0xff, 0, 4, ...address]));
      size += 16;
      answers++;
    });
    const out = new Uint8Array(size);
    out.set(header(parsed.id, parsed.flags, RCODE.NOERROR, parsed.questions.length, answers, truncated), 0);
    let pos = 12;
    for (const p of parts) {
      out.set(p, pos);
      pos += p.length;
    }
    return out;
  } catch {
    return undefined;
  }
}
