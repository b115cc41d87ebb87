import assert from "../support/assert";
import { MAX_REPLY_BYTES, RCODE, answerDnsQuery, ipv4Bytes, parseDnsQuery } from "../../src/setup/dns-responder";
import { Fuzz } from "../support/fuzz";

const DEVICE = ipv4Bytes("192.168.4.1");

function labels(name: string): number[] {
  const out: number[] = [];
  for (const label of name.split(".").filter((l) => l.length > 0)) out.push(label.length, ...Array.from(label, (c) => c.charCodeAt(0)));
  return [...out, 0];
}

/** A query: id, flags (RD set by default), questions of [name, type]. */
function query(questions: [string, number][], options: { id?: number; flags?: number; extra?: number[] } = {}): Uint8Array {
  const id = options.id ?? 0x1234;
  const flags = options.flags ?? 0x0100;
  const body = questions.flatMap(([name, type]) => [...labels(name), 0, type, 0, 1]);
  return Uint8Array.from([id >> 8, id & 0xff, flags >> 8, flags & 0xff, 0, questions.length, 0, 0, 0, 0, 0, 0, ...body, ...(options.extra ?? [])]);
}

const u16 = (b: Uint8Array, at: number) => (b[at]! << 8) | b[at + 1]!;
const rcode = (b: Uint8Array) => b[3]! & 0xf;

describe("DNS responder", () => {
  it("answers an A question with the device address (id, RD, AA, question echoed, TTL 60)", () => {
    const q = query([["connectivitycheck.gstatic.com", 1]]);
    const r = answerDnsQuery(q, DEVICE)!;
    assert.equal(u16(r, 0), 0x1234);
    assert.equal(r[2]! & 0x80, 0x80, "QR");
    assert.equal(r[2]! & 0x04, 0x04, "AA");
    assert.equal(r[2]! & 0x01, 0x01, "RD copied");
    assert.equal(rcode(r), RCODE.NOERROR);
    assert.equal(u16(r, 4), 1);
    assert.equal(u16(r, 6), 1, "one answer");
    const qlen = q.length - 12;
    assert.deepEqual(r.subarray(12, 12 + qlen), q.subarray(12), "question as asked");
    const a = r.subarray(12 + qlen);
    assert.deepEqual(Array.from(a), [0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 168, 4, 1]);
  });

  it("keeps the case of the name as sent and ignores an EDNS OPT record", () => {
    const q = query([["Apple.COM", 1]], { extra: [0, 0, 41, 16, 0, 0, 0, 0, 0, 0, 0] });
    q[11] = 1; // ARCOUNT 1
    const parsed = parseDnsQuery(q);
    assert.ok(parsed.ok);
    assert.equal(parsed.questions[0]!.name, "apple.com");
    const r = answerDnsQuery(q, DEVICE)!;
    assert.equal(String.fromCharCode(...r.subarray(13, 18)), "Apple");
    assert.equal(u16(r, 6), 1);
    assert.equal(u16(r, 10), 0, "no additional records in the reply");
  });

  it("answers AAAA and other types with no records, and every A among several questions", () => {
    const r = answerDnsQuery(query([["a.example", 28], ["b.example", 1], ["c.example", 1]]), DEVICE)!;
    assert.equal(rcode(r), RCODE.NOERROR);
    assert.equal(u16(r, 4), 3);
    assert.equal(u16(r, 6), 2);
    const none = answerDnsQuery(query([["a.example", 28]]), DEVICE)!;
    assert.equal(u16(none, 6), 0);
  });

  it("follows a backwards compression pointer in a later question", () => {
    const q = query([["example.com", 1]]);
    const withPointer = Uint8Array.from([...q, 3, 0x77, 0x77, 0x77, 0xc0, 12, 0, 1, 0, 1]);
    withPointer[5] = 2;
    const parsed = parseDnsQuery(withPointer);
    assert.ok(parsed.ok);
    assert.deepEqual(parsed.questions.map((x) => x.name), ["example.com", "www.example.com"]);
    const r = answerDnsQuery(withPointer, DEVICE)!;
    assert.equal(u16(r, 6), 2);
  });

  it("NOTIMP for other opcodes, FORMERR for broken questions, no reply for responses and scraps", () => {
    const notimp = answerDnsQuery(query([["x", 1]], { flags: 0x2800 }), DEVICE)!; // opcode 5 (UPDATE)
    assert.equal(rcode(notimp), RCODE.NOTIMP);
    assert.equal(u16(notimp, 4), 0);
    assert.equal(answerDnsQuery(query([["x", 1]], { flags: 0x8000 }), DEVICE), undefined, "a response is never answered");
    assert.equal(answerDnsQuery(Uint8Array.from([1, 2, 3]), DEVICE), undefined);
    assert.equal(answerDnsQuery(new Uint8Array(2000), DEVICE), undefined);
    const cases: [string, Uint8Array][] = [
      ["no question", query([])],
      ["five questions", query([["a", 1], ["b", 1], ["c", 1], ["d", 1], ["e", 1]])],
      ["truncated name", query([["example.com", 1]]).subarray(0, 18)],
      ["truncated type", query([["example.com", 1]]).subarray(0, 27)],
      ["pointer to itself", Uint8Array.from([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1])],
      ["pointer forwards", Uint8Array.from([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 14, 1, 0x61, 0, 0, 1, 0, 1])],
      ["truncated pointer", Uint8Array.from([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0x61, 0xc0])],
      ["reserved label type", Uint8Array.from([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x41, 0, 0, 1, 0, 1])],
      ["name over 255 bytes", query([[Array.from({ length: 5 }, () => "a".repeat(63)).join("."), 1]])],
    ];
    for (const [what, q] of cases) {
      const r = answerDnsQuery(q, DEVICE);
      assert.ok(r, what);
      assert.equal(rcode(r), RCODE.FORMERR, what);
      assert.equal(u16(r, 0), u16(q, 0), what);
      assert.equal(u16(r, 6), 0, what);
    }
  });

  it("follows chains of backward pointers across questions", () => {
    // q1 "a"; q2 "b" + pointer to q1; q3 "c" + pointer to q2; q4 "d" + pointer to q3.
    const bytes = [0, 1, 1, 0, 0, 4, 0, 0, 0, 0, 0, 0, 1, 0x61, 0, 0, 1, 0, 1];
    let prev = 12;
    for (const c of [0x62, 0x63, 0x64]) {
      const at = bytes.length;
      bytes.push(1, c, 0xc0, prev, 0, 1, 0, 1);
      prev = at;
    }
    const parsed = parseDnsQuery(Uint8Array.from(bytes));
    assert.ok(parsed.ok);
    assert.deepEqual(parsed.questions.map((q) => q.name), ["a", "b.a", "c.b.a", "d.c.b.a"]);
    const r = answerDnsQuery(Uint8Array.from(bytes), DEVICE)!;
    assert.equal(u16(r, 6), 4);
    // The echoed questions are written out in full (no pointer into the client's packet layout survives).
    assert.equal(String.fromCharCode(...r.subarray(12, 12 + 3)), "\u0001a\u0000");
  });

  it("replies stay within 512 bytes (TC when answers do not fit)", () => {
    const long = Array.from({ length: 2 }, () => "b".repeat(60)).join(".");
    const r = answerDnsQuery(query([[long, 1], [long + ".c", 1], [long + ".d", 1], [long + ".e", 1]]), DEVICE)!;
    assert.ok(r.length <= MAX_REPLY_BYTES, String(r.length));
    assert.equal(r[2]! & 0x02, 0x02, "TC");
  });

  it("never throws and never exceeds 512 bytes on random and mutated input", () => {
    const fuzz = new Fuzz(13);
    const base = query([["captive.apple.com", 1], ["www.example.org", 28]]);
    let replies = 0;
    for (let i = 0; i < 3000; i++) {
      let input: Uint8Array;
      if (i % 2 === 0) {
        input = new Uint8Array(fuzz.int(80));
        for (let j = 0; j < input.length; j++) input[j] = fuzz.int(256);
        if (input.length > 2) input[2] = input[2]! & 0x07; // mostly queries
      } else {
        input = Uint8Array.from(base);
        for (let k = 0, n = 1 + fuzz.int(4); k < n; k++) input[fuzz.int(input.length)] = fuzz.int(256);
        input = input.subarray(0, fuzz.int(input.length + 1));
      }
      const r = answerDnsQuery(input, DEVICE);
      if (r) {
        replies++;
        assert.ok(r.length >= 12 && r.length <= MAX_REPLY_BYTES);
        assert.equal(u16(r, 0), u16(input, 0));
      }
    }
    assert.ok(replies > 500, `replies ${replies}`);
  });

  it("ipv4Bytes accepts dotted quads only", () => {
    assert.deepEqual(Array.from(ipv4Bytes("10.0.0.255")), [10, 0, 0, 255]);
    for (const bad of ["10.0.0", "10.0.0.256", "a.b.c.d", "01.2.3.4", "1.2.3.4.5"]) assert.throws(() => ipv4Bytes(bad), RangeError);
    assert.equal(answerDnsQuery(query([["x", 1]]), Uint8Array.from([1, 2, 3])), undefined);
  });
});
