import assert from "../support/assert";
import { p256RawSignature } from "../../src/ports/crypto";
import { toHex } from "../../src/core/bytes";

function fromHex(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

const N = "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551";
const N_MINUS_1 = "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632550";

function integer(hex: string): string {
  const len = hex.length / 2;
  return `02${len.toString(16).padStart(2, "0")}${hex}`;
}
function sequence(...parts: string[]): Uint8Array {
  const body = parts.join("");
  return fromHex(`30${(body.length / 2).toString(16).padStart(2, "0")}${body}`);
}

describe("p256RawSignature (strict DER ECDSA signature -> r || s)", () => {
  it("pads short integers and strips the sign byte of high ones", () => {
    const r = "00" + N_MINUS_1; // high bit set: DER needs the leading 0
    const s = "0102";
    const raw = p256RawSignature(sequence(integer(r), integer(s)));
    assert.equal(toHex(raw!), N_MINUS_1 + "0".repeat(60) + "0102");
  });

  const bad: Array<[string, Uint8Array]> = [
    ["r = 0", sequence(integer("00"), integer("01"))],
    ["s = n", sequence(integer("01"), integer("00" + N))],
    ["a negative r", sequence(integer("80"), integer("01"))],
    ["a non-minimal r", sequence(integer("0001"), integer("01"))],
    ["a 33-byte r without the sign byte", sequence(integer("01" + "00".repeat(32)), integer("01"))],
    ["trailing bytes", fromHex(toHex(sequence(integer("01"), integer("01"))) + "00")],
    ["a wrong outer length", fromHex("3007020101020101")],
    ["no SEQUENCE", fromHex("3106020101020101")],
    ["one integer only", sequence(integer("01"))],
    ["an integer running past the end", fromHex("3006020101020501")],
    ["empty", new Uint8Array(0)],
  ];
  for (const [name, der] of bad) {
    it(`refuses ${name}`, () => {
      assert.equal(p256RawSignature(der), undefined);
    });
  }
});
