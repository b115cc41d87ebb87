import assert from "../support/assert";
import { PropertyBagError, decodePropertyBag, encodePropertyBag, splitSystemProperties } from "../../src/azure/property-bag";

describe("property bag", () => {
  it("encodes system keys literally and percent-encodes application keys and values", () => {
    assert.equal(
      encodePropertyBag({ "$.mid": "a-1", "$.ct": "application/json", "$.ce": "utf-8", button: "1" }),
      "$.mid=a-1&$.ct=application%2Fjson&$.ce=utf-8&button=1",
    );
  });

  it("encodes reserved characters", () => {
    assert.equal(encodePropertyBag({ "a&b": "x=y", "q?": "1/2#3+4 5%" }), "a%26b=x%3Dy&q%3F=1%2F2%233%2B4%205%25");
  });

  it("encodes non-ASCII as UTF-8 percent escapes", () => {
    assert.equal(encodePropertyBag({ Straße: "Grün €" }), "Stra%C3%9Fe=Gr%C3%BCn%20%E2%82%AC");
  });

  it("round-trips arbitrary keys and values", () => {
    const props = { "k 1": "v&=?/#", "ä": "😀", plus: "+", empty: "", "$odd": "$" };
    assert.deepEqual({ ...decodePropertyBag(encodePropertyBag(props)) }, props);
  });

  it("decodes $ either literal or as %24, keys without '=' and empty segments", () => {
    const props = decodePropertyBag("%24.mid=1&$.to=%2Fdevices%2Fd1&&iothub-ack&x=a+b");
    assert.deepEqual({ ...props }, { "$.mid": "1", "$.to": "/devices/d1", "iothub-ack": "", x: "a+b" });
  });

  it("decodes an empty bag to no properties", () => {
    assert.deepEqual({ ...decodePropertyBag("") }, {});
  });

  it("refuses malformed percent-encoding with a clear error", () => {
    assert.throws(() => decodePropertyBag("a=%E0%A4%A"), PropertyBagError);
    assert.throws(() => decodePropertyBag("a=%ZZ"), /malformed percent-encoding in value of a/);
    assert.throws(() => decodePropertyBag("%C3=1"), /property key/);
    assert.throws(() => decodePropertyBag("=1"), /empty key/);
  });

  it("refuses empty keys, non-string values and lone surrogates when encoding", () => {
    assert.throws(() => encodePropertyBag({ "": "x" }), /empty/);
    assert.throws(() => encodePropertyBag({ a: 1 as unknown as string }), /must be a string/);
    assert.throws(() => encodePropertyBag({ a: "\uD800" }), /lone surrogate/);
  });

  it("does not let a key named __proto__ change the result's prototype", () => {
    const props = decodePropertyBag("__proto__=x&a=1");
    assert.equal(props["__proto__"], "x");
    assert.equal(Object.getPrototypeOf(props), null);
  });

  it("splits system from application properties", () => {
    const { system, application } = splitSystemProperties({ "$.mid": "1", "$.ct": "text/plain", color: "red" });
    assert.deepEqual(system, { "$.mid": "1", "$.ct": "text/plain" });
    assert.deepEqual(application, { color: "red" });
  });
});
