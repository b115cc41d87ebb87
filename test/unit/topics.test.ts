import assert from "../support/assert";
import {
  cloudMessageBag,
  cloudMessageFilter,
  methodResponseTopic,
  parseDesiredPatchTopic,
  parseMethodTopic,
  parseTwinResponseTopic,
  telemetryTopic,
  twinGetTopic,
  twinReportedTopic,
  validateDeviceId,
} from "../../src/azure/topics";
import { MAX_KEEP_ALIVE_SECONDS, hubConnectOptions, hubUsername } from "../../src/azure/connection-options";
import { utf8 } from "../../src/core/bytes";

const tls = { ca: [utf8("ca")], certificate: utf8("cert"), key: utf8("key") };

describe("IoT Hub topics", () => {
  it("builds the telemetry and cloud-to-device topics", () => {
    assert.equal(telemetryTopic("box-1", "$.mid=1"), "devices/box-1/messages/events/$.mid=1");
    assert.equal(cloudMessageFilter("box-1"), "devices/box-1/messages/devicebound/#");
    assert.equal(cloudMessageBag("box-1", "devices/box-1/messages/devicebound/%24.mid=9&a=b"), "%24.mid=9&a=b");
    assert.equal(cloudMessageBag("box-1", "devices/box-2/messages/devicebound/a=b"), undefined);
  });

  it("builds twin and method topics with the request id", () => {
    assert.equal(twinGetTopic("7"), "$iothub/twin/GET/?$rid=7");
    assert.equal(twinReportedTopic("8"), "$iothub/twin/PATCH/properties/reported/?$rid=8");
    assert.equal(methodResponseTopic(404, "a b"), "$iothub/methods/res/404/?$rid=a%20b");
  });

  it("parses twin responses with status, $rid and $version", () => {
    assert.deepEqual(parseTwinResponseTopic("$iothub/twin/res/204/?$rid=3&$version=12"), { status: 204, rid: "3", version: 12 });
    assert.deepEqual(parseTwinResponseTopic("$iothub/twin/res/200/?$rid=4"), { status: 200, rid: "4", version: undefined });
    assert.equal(parseTwinResponseTopic("$iothub/twin/res/abc/?$rid=4"), undefined);
    assert.equal(parseTwinResponseTopic("$iothub/methods/POST/x/?$rid=4"), undefined);
  });

  it("parses desired-property patch topics", () => {
    assert.deepEqual(parseDesiredPatchTopic("$iothub/twin/PATCH/properties/desired/?$version=5"), { version: 5 });
    assert.deepEqual(parseDesiredPatchTopic("$iothub/twin/PATCH/properties/desired/"), { version: undefined });
    assert.equal(parseDesiredPatchTopic("$iothub/twin/res/200/?$rid=1"), undefined);
  });

  it("parses method calls and rejects ones without $rid", () => {
    assert.deepEqual(parseMethodTopic("$iothub/methods/POST/setColor/?$rid=1f"), { name: "setColor", rid: "1f" });
    assert.equal(parseMethodTopic("$iothub/methods/POST/setColor/"), undefined);
    assert.equal(parseMethodTopic("$iothub/methods/POST//?$rid=1"), undefined);
  });

  it("validates device ids", () => {
    validateDeviceId("KIS.BOX-00:11:22_a(1)@x$'");
    assert.throws(() => validateDeviceId(""), RangeError);
    assert.throws(() => validateDeviceId("a/b"), /invalid device id/);
    assert.throws(() => validateDeviceId("a+b"), /invalid device id/);
    assert.throws(() => validateDeviceId("a#"), /invalid device id/);
    assert.throws(() => validateDeviceId("x".repeat(129)), /invalid device id/);
  });
});

describe("CONNECT options", () => {
  const endpoint = { host: "iotrafi-prod-iot-hub.azure-devices.net", port: 8883 };

  it("uses the device id as client id, the documented username, no password and clean session off", () => {
    const o = hubConnectOptions(endpoint, { deviceId: "box-1", tls }, 180);
    assert.equal(o.clientId, "box-1");
    assert.equal(o.username, "iotrafi-prod-iot-hub.azure-devices.net/box-1/?api-version=2021-04-12");
    assert.equal(o.password, undefined);
    assert.equal(o.cleanSession, false);
    assert.equal(o.keepAliveSeconds, 180);
    assert.equal(o.host, endpoint.host);
    assert.equal(o.serverName, endpoint.host);
  });

  it("appends the model id for IoT Plug and Play", () => {
    assert.equal(
      hubUsername("h.azure-devices.net", "d", "dtmi:kisme:KisBox;1"),
      "h.azure-devices.net/d/?api-version=2021-04-12&model-id=dtmi%3Akisme%3AKisBox%3B1",
    );
    assert.throws(() => hubConnectOptions(endpoint, { deviceId: "d", modelId: "kisbox", tls }, 60), /model id/);
  });

  it("connects to a mapped address but checks the certificate against the hub name", () => {
    const o = hubConnectOptions({ ...endpoint, address: "127.0.0.1" }, { deviceId: "d", tls }, 60);
    assert.equal(o.host, "127.0.0.1");
    assert.equal(o.serverName, endpoint.host);
    assert.match(o.username, /^iotrafi-prod-iot-hub\.azure-devices\.net\/d\//);
  });

  it("never allows a keep-alive above 1177 s", () => {
    hubConnectOptions(endpoint, { deviceId: "d", tls }, MAX_KEEP_ALIVE_SECONDS);
    assert.throws(() => hubConnectOptions(endpoint, { deviceId: "d", tls }, 1178), /1177/);
    assert.throws(() => hubConnectOptions(endpoint, { deviceId: "d", tls }, 0), RangeError);
    assert.throws(() => hubConnectOptions(endpoint, { deviceId: "d", tls }, 1.5), RangeError);
  });
});
