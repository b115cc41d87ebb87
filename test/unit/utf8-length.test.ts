import assert from "../support/assert";
import { utf8, utf8Length } from "../../src/core/bytes";

describe("utf8Length", () => {
  it("equals the length of the UTF-8 encoding, surrogate pairs and lone surrogates included", () => {
    for (const text of ["", "abc", "äöü ß", "€", "日本語", "🙂 ok", "a\ud83d", "\udc00b", "\ud83d\ud83d\ude42", "x".repeat(1000)]) {
      assert.equal(utf8Length(text), utf8(text).length, JSON.stringify(text));
    }
  });
});
