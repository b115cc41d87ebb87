import assert from "../support/assert";
import { DerReader, TAG, oidText, parseOne, timeValue, unsignedInteger } from "../../src/x509/der";

const bytes = (...b: number[]) => new Uint8Array(b);

describe("strict DER reader", () => {
  it("reads short and long lengths", () => {
    assert.equal(parseOne(bytes(0x04, 0x02, 0xaa, 0xbb), TAG.OCTET_STRING).value.length, 2);
    const long = new Uint8Array(3 + 200);
    long.set([0x04, 0x81, 200]);
    assert.equal(parseOne(long, TAG.OCTET_STRING).value.length, 200);
  });

  it("refuses indefinite, non-minimal, oversized and overrunning lengths", () => {
    assert.throws(() => parseOne(bytes(0x30, 0x80, 0x00, 0x00), TAG.SEQUENCE), /indefinite/);
    assert.throws(() => parseOne(bytes(0x04, 0x81, 0x02, 0xaa, 0xbb), TAG.OCTET_STRING), /minimal/);
    assert.throws(() => parseOne(bytes(0x04, 0x82, 0x00, 0x02, 0xaa, 0xbb), TAG.OCTET_STRING), /minimal/);
    assert.throws(() => parseOne(bytes(0x04, 0x85, 1, 1, 1, 1, 1), TAG.OCTET_STRING), /too large/);
    assert.throws(() => parseOne(bytes(0x04, 0x03, 0xaa), TAG.OCTET_STRING), /past its parent/);
    assert.throws(() => parseOne(bytes(0x04, 0x01, 0xaa, 0x00), TAG.OCTET_STRING), /trailing/);
    assert.throws(() => new DerReader(bytes(0x1f, 0x81, 0x01, 0x00)).read(), /multi-byte/);
  });

  it("refuses non-minimal and negative INTEGERs", () => {
    assert.equal(unsignedInteger(parseOne(bytes(0x02, 0x02, 0x00, 0x80), TAG.INTEGER)).length, 1);
    assert.throws(() => unsignedInteger(parseOne(bytes(0x02, 0x02, 0x00, 0x7f), TAG.INTEGER)), /minimal/);
    assert.throws(() => unsignedInteger(parseOne(bytes(0x02, 0x01, 0x80), TAG.INTEGER)), /negative/);
  });

  it("reads OIDs and refuses padded arcs", () => {
    assert.equal(oidText(bytes(0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01)), "1.2.840.10045.2.1");
    assert.equal(oidText(bytes(0x55, 0x1d, 0x13)), "2.5.29.19");
    assert.throws(() => oidText(bytes(0x55, 0x80, 0x1d)), /minimally/);
    assert.throws(() => oidText(bytes(0x55, 0x9d)), /truncated/);
  });

  it("reads UTCTime and GeneralizedTime, and refuses other forms", () => {
    const time = (tag: number, text: string) => timeValue({ tag, der: new Uint8Array(0), value: new Uint8Array([...text].map((c) => c.charCodeAt(0))) });
    assert.equal(time(TAG.UTC_TIME, "491231235959Z"), Date.UTC(2049, 11, 31, 23, 59, 59));
    assert.equal(time(TAG.UTC_TIME, "500101000000Z"), Date.UTC(1950, 0, 1));
    assert.equal(time(TAG.GENERALIZED_TIME, "20500101000000Z"), Date.UTC(2050, 0, 1));
    for (const bad of ["4912312359Z", "491231235959", "491231235959+0100", "491331235959Z", "490230000000Z"]) {
      assert.throws(() => time(TAG.UTC_TIME, bad), /bad time/);
    }
    assert.throws(() => time(TAG.GENERALIZED_TIME, "20500101000000.5Z"), /bad time/);
  });
});
