import assert from "../support/assert";
import {
  NTP_UNIX_OFFSET_S,
  SntpReplyError,
  decodeReply,
  encodeRequest,
  ntpToUnixMs,
  unixMsToNtp,
  type SntpRejectReason,
  type SntpRequest,
  type SntpTime,
} from "../../src/time/sntp-packet";
import { SequenceRandom } from "../support/manual-clock";
import { craftPacket, type PacketFields } from "../support/fake-datagrams";

const BASE = Date.UTC(2026, 10, 26, 12, 0, 0); // whole seconds
const ERA1_START = Date.UTC(2036, 1, 7, 6, 28, 16);

function u32(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
}

function request(sentAtMs = BASE, random = 0.5): SntpRequest {
  return encodeRequest(sentAtMs, new SequenceRandom([random]));
}

/** A reply to `req` with the given fields (T2 = T3 = T1 + 10 s unless set). */
function reply(req: SntpRequest, fields: PacketFields = {}): Uint8Array {
  return craftPacket({ originate: req.transmit, receive: req.sentAtMs + 10_000, transmit: req.sentAtMs + 10_000, ...fields });
}

function rejected(reason: SntpRejectReason): (error: unknown) => boolean {
  return (error) => error instanceof SntpReplyError && error.reason === reason && error.message.length > 0;
}

function time(data: Uint8Array, req: SntpRequest, arrivalMs = req.sentAtMs): SntpTime {
  const result = decodeReply(data, req, arrivalMs);
  assert.equal(result.kind, "time");
  return result as SntpTime;
}

describe("SNTP packets", () => {
  describe("request", () => {
    it("is 48 bytes: LI 0, VN 4, mode 3, only the transmit timestamp set", () => {
      const req = request(BASE + 500, 0.5);
      assert.equal(req.bytes.length, 48);
      assert.equal(req.bytes[0], 0x23);
      for (let i = 1; i < 40; i++) assert.equal(req.bytes[i], 0, `byte ${i}`);
      assert.equal(u32(req.bytes, 40), BASE / 1000 + NTP_UNIX_OFFSET_S);
      assert.deepEqual(req.transmit, req.bytes.slice(40, 48));
      assert.equal(req.sentAtMs, BASE + 500);
    });

    it("carries our time in the high fraction bits and random bits in the low 24", () => {
      const fraction = (r: number): number => u32(request(BASE + 500, r).bytes, 44);
      assert.equal(fraction(0), 0x80000000, "500 ms, no noise");
      assert.equal(fraction(0.5), 0x80800000);
      assert.equal(fraction(0.999999999), 0x80ffffff);
      assert.notDeepEqual(request(BASE, 0.25).transmit, request(BASE, 0.75).transmit);
    });
  });

  describe("good reply", () => {
    it("computes offset and delay exactly", () => {
      const req = request(BASE);
      // Server 10 s ahead; 250 ms out, 125 ms in the server, 250 ms back.
      const data = reply(req, { receive: BASE + 10_250, transmit: BASE + 10_375 });
      const t = time(data, req, BASE + 625);
      assert.equal(t.t1, BASE);
      assert.equal(t.t2, BASE + 10_250);
      assert.equal(t.t3, BASE + 10_375);
      assert.equal(t.t4, BASE + 625);
      assert.equal(t.offsetMs, 10_000);
      assert.equal(t.delayMs, 500);
      assert.equal(t.leap, 0);
      assert.equal(t.version, 4);
      assert.equal(t.stratum, 2);
      assert.equal(t.poll, 6);
      assert.equal(t.precision, -20);
      assert.equal(t.referenceId, "192.0.2.1");
    });

    it("computes a negative offset when our clock is ahead", () => {
      const req = request(BASE + 60_000);
      const t = time(reply(req, { receive: BASE + 125, transmit: BASE + 125 }), req, BASE + 60_250);
      assert.equal(t.offsetMs, -60_000);
      assert.equal(t.delayMs, 250);
    });

    it("accepts version 3, leap warnings (LI 1 and 2), stratum 1 with an ASCII reference and stratum 15", () => {
      const req = request();
      assert.equal(time(reply(req, { version: 3 }), req).version, 3);
      assert.equal(time(reply(req, { leap: 1 }), req).leap, 1);
      assert.equal(time(reply(req, { leap: 2 }), req).leap, 2);
      const s1 = time(reply(req, { stratum: 1, referenceId: "GPS" }), req);
      assert.equal(s1.stratum, 1);
      assert.equal(s1.referenceId, "GPS");
      assert.equal(time(reply(req, { stratum: 15 }), req).stratum, 15);
    });

    it("accepts a longer packet (extension fields or a MAC after the header)", () => {
      const req = request();
      assert.equal(time(reply(req, { length: 68 }), req).offsetMs, 10_000);
    });
  });

  describe("rejections", () => {
    it("short or empty packets", () => {
      const req = request();
      assert.throws(() => decodeReply(reply(req).slice(0, 47), req, BASE), rejected("short"));
      assert.throws(() => decodeReply(new Uint8Array(0), req, BASE), rejected("short"));
      assert.throws(() => decodeReply(reply(req).slice(0, 47), req, BASE), /too short: 47 bytes/);
    });

    it("modes other than 4 (server): 3 client, 5 broadcast, 6 control", () => {
      const req = request();
      for (const mode of [3, 5, 6, 0, 7]) {
        assert.throws(() => decodeReply(reply(req, { mode }), req, BASE), rejected("mode"), `mode ${mode}`);
      }
      assert.throws(() => decodeReply(reply(req, { mode: 5 }), req, BASE), /mode 5, expected 4/);
    });

    it("versions other than 3 and 4", () => {
      const req = request();
      for (const version of [0, 1, 2, 5, 7]) {
        assert.throws(() => decodeReply(reply(req, { version }), req, BASE), rejected("version"), `version ${version}`);
      }
    });

    it("LI 3 (unsynchronised server)", () => {
      const req = request();
      assert.throws(() => decodeReply(reply(req, { leap: 3 }), req, BASE), rejected("unsynchronised"));
    });

    it("stratum 16 and above", () => {
      const req = request();
      for (const stratum of [16, 17, 255]) {
        assert.throws(() => decodeReply(reply(req, { stratum }), req, BASE), rejected("stratum"), `stratum ${stratum}`);
      }
    });

    it("an originate timestamp that differs from our transmit timestamp in any byte", () => {
      const req = request();
      for (let i = 0; i < 8; i++) {
        const originate = req.transmit.slice();
        originate[i] = originate[i]! ^ 0x01;
        assert.throws(() => decodeReply(reply(req, { originate }), req, BASE), rejected("originate"), `byte ${i}`);
      }
      assert.throws(() => decodeReply(reply(req, { originate: new Uint8Array(8) }), req, BASE), rejected("originate"));
      const other = request(BASE, 0.75);
      assert.throws(() => decodeReply(reply(other), req, BASE), rejected("originate"), "a reply to another request");
    });

    it("a zero transmit timestamp", () => {
      const req = request();
      assert.throws(() => decodeReply(reply(req, { transmit: new Uint8Array(8) }), req, BASE), rejected("zero-transmit"));
    });

    it("are SntpReplyError instances", () => {
      const req = request();
      try {
        decodeReply(reply(req, { stratum: 16 }), req, BASE);
        assert.ok(false, "expected a rejection");
      } catch (error) {
        assert.ok(error instanceof SntpReplyError);
        assert.equal(error.name, "SntpReplyError");
        assert.equal(error.reason, "stratum");
      }
    });
  });

  describe("kiss-o'-death", () => {
    it("stratum 0 gives a distinct result with the 4-character kiss code, also with LI 3", () => {
      const req = request();
      for (const code of ["DENY", "RSTR", "RATE", "INIT"]) {
        const result = decodeReply(reply(req, { stratum: 0, leap: 3, referenceId: code, receive: new Uint8Array(8), transmit: new Uint8Array(8) }), req, BASE);
        assert.deepEqual(result, { kind: "kiss", code, version: 4 });
      }
    });

    it("a forged kiss (wrong originate) is a stray, not a kiss", () => {
      const req = request();
      const forged = reply(req, { stratum: 0, referenceId: "DENY", originate: new Uint8Array(8) });
      assert.throws(() => decodeReply(forged, req, BASE), rejected("originate"));
    });
  });

  describe("eras (RFC 4330 section 3)", () => {
    it("seconds with the top bit set are era 0 (from 1900), without it era 1 (from 2036-02-07T06:28:16Z)", () => {
      assert.equal(ntpToUnixMs(NTP_UNIX_OFFSET_S, 0), 0);
      assert.equal(ntpToUnixMs(0x80000000, 0), Date.UTC(1968, 0, 20, 3, 14, 8));
      assert.equal(ntpToUnixMs(0xffffffff, 0x80000000), ERA1_START - 500);
      assert.equal(ntpToUnixMs(0, 0), ERA1_START);
      assert.equal(ntpToUnixMs(0, 0x40000000), ERA1_START + 250);
      assert.equal(ntpToUnixMs(0x7fffffff, 0), ERA1_START + 0x7fffffff * 1000);
    });

    it("encodes times after 2036 into era 1 and back", () => {
      assert.deepEqual(unixMsToNtp(ERA1_START - 500), { seconds: 0xffffffff, fraction: 0x80000000 });
      assert.deepEqual(unixMsToNtp(ERA1_START), { seconds: 0, fraction: 0 });
      const later = Date.UTC(2040, 0, 1, 0, 0, 0, 125);
      const { seconds, fraction } = unixMsToNtp(later);
      assert.ok(seconds < 0x80000000, "era 1");
      assert.equal(ntpToUnixMs(seconds, fraction), later);
      assert.equal(u32(request(ERA1_START + 1000, 0).bytes, 40), 1);
    });

    it("computes the offset across the rollover", () => {
      const req = request(ERA1_START - 500, 0); // our transmit seconds 0xffffffff
      assert.equal(u32(req.bytes, 40), 0xffffffff);
      const serverTs = new Uint8Array([0, 0, 0, 0, 0x80, 0, 0, 0]); // era 1, 06:28:16.5
      const t = time(reply(req, { receive: serverTs, transmit: serverTs }), req, ERA1_START - 500);
      assert.equal(t.t2, ERA1_START + 500);
      assert.equal(t.offsetMs, 1000);
      assert.equal(t.delayMs, 0);
    });
  });
});
