import assert from "../support/assert";
import {
  BOOTSTRAP_CONTRACT,
  BootstrapResponseError,
  DEFAULT_HUB_HOST,
  assignmentPath,
  buildAssignmentRequest,
  describeStatus,
  isDnsHostName,
  parseAssignmentResponse,
  validateAssignment,
  type BootstrapFailureKind,
} from "../../src/bootstrap/bootstrap-contract";
import { hubAllowedBy } from "../../src/bootstrap/bootstrap-client";
import { EgressPolicy, INTEGRATION_GUIDE_EGRESS } from "../../src/net/egress-policy";
import { scoped, silentLogger } from "../../src/ports/logger";
import { jsonResponse, textResponse } from "../support/fake-https";
import type { HttpsResponse } from "../../src/ports/https";

const DEVICE = "box-0042";
const allowsHub = hubAllowedBy(new EgressPolicy(INTEGRATION_GUIDE_EGRESS, scoped(silentLogger, "egress")));
const good = { deviceId: DEVICE, hubHostName: DEFAULT_HUB_HOST };

function refused(response: HttpsResponse, kind: BootstrapFailureKind, pattern: RegExp, expected = DEVICE): void {
  assert.throws(
    () => parseAssignmentResponse(response, expected, allowsHub),
    (error) => error instanceof BootstrapResponseError && error.kind === kind && pattern.test(error.message),
    `${kind} ${pattern}`,
  );
}

describe("Bootstrap contract: request", () => {
  it("GETs /api/v1/devices/{id}/assignment with Accept and User-Agent only", () => {
    const request = buildAssignmentRequest(DEVICE, "1.4.2");
    assert.deepEqual(request, {
      method: "GET",
      path: "/api/v1/devices/box-0042/assignment",
      headers: { Accept: "application/json", "User-Agent": "kisme-firmware/1.4.2" },
    });
  });

  it("percent-encodes the device id as one path segment", () => {
    assert.equal(assignmentPath("box:1=a@b$c,d"), "/api/v1/devices/box%3A1%3Da%40b%24c%2Cd/assignment");
    assert.equal(assignmentPath("what?x=1"), "/api/v1/devices/what%3Fx%3D1/assignment");
    // An id that looks encoded stays literal: %2F can never become a slash on the server.
    assert.equal(assignmentPath("a%2F..%2Fadmin"), "/api/v1/devices/a%252F..%252Fadmin/assignment");
    assert.equal(assignmentPath("it's(1)*!"), "/api/v1/devices/it's(1)*!/assignment");
    assert.equal(assignmentPath("a..b"), "/api/v1/devices/a..b/assignment");
  });

  it("never sends an id that is not a valid IoT Hub device id or is a dot-segment", () => {
    const bad = ["", ".", "..", "a/b", "../admin", "a b", "bøx", "box\u0000", "a\r\nX-Injected: 1", "box#1", "box+1", "a\\b", "<script>", "x".repeat(129)];
    for (const id of bad) assert.throws(() => buildAssignmentRequest(id, "1.0.0"), RangeError, JSON.stringify(id));
    assert.equal(assignmentPath("x".repeat(128)).length, "/api/v1/devices//assignment".length + 128);
  });

  it("refuses a firmware version that would break the User-Agent header", () => {
    for (const v of ["", "1.0 (evil)", "1.0\r\nX-Injected: 1", "ü", "1/2", "x".repeat(33)]) {
      assert.throws(() => buildAssignmentRequest(DEVICE, v), RangeError, JSON.stringify(v));
    }
    assert.equal(buildAssignmentRequest(DEVICE, "2.0.0-rc.1+g1a2b3c").headers!["User-Agent"], "kisme-firmware/2.0.0-rc.1+g1a2b3c");
  });

  it("documents the contract in one Markdown block", () => {
    assert.match(BOOTSTRAP_CONTRACT, /GET \/api\/v1\/devices\/\{deviceId\}\/assignment/);
    assert.match(BOOTSTRAP_CONTRACT, /bootstrap\.centersightcloud\.com/);
    assert.match(BOOTSTRAP_CONTRACT, /"hubHostName"/);
    assert.match(BOOTSTRAP_CONTRACT, /mutual TLS/);
    assert.match(BOOTSTRAP_CONTRACT, /iotrafi-prod-iot-hub\.azure-devices\.net/);
  });
});

describe("Bootstrap contract: host names", () => {
  it("accepts DNS host names and refuses everything else", () => {
    for (const name of [DEFAULT_HUB_HOST, "a.b", "x-1.example.com", "IOTRAFI-PROD-IOT-HUB.Azure-Devices.NET", "xn--bcher-kva.example", `${"a".repeat(63)}.com`]) {
      assert.ok(isDnsHostName(name), name);
    }
    const bad = [
      "", "localhost", "1.2.3.4", "hub.example.com.", ".hub.example.com", "hub..example.com", "-hub.example.com", "hub-.example.com",
      "hub.example.com:8883", "mqtts://hub.example.com", "hub.example.com/x", " hub.example.com", "hub.example.com ", "hüb.example.com",
      "hub_1.example.com", "*.azure-devices.net", "[::1]", "hub.example.com\r\n", `${"a".repeat(64)}.com`, `${"a.".repeat(126)}com`,
    ];
    for (const name of bad) assert.ok(!isDnsHostName(name), JSON.stringify(name));
  });

  it("describes the statuses that mean something", () => {
    assert.equal(describeStatus(404), "device unknown to bootstrap (404)");
    assert.equal(describeStatus(403), "device not authorized by bootstrap (403)");
    assert.equal(describeStatus(401), "device not authorized by bootstrap (401)");
    assert.equal(describeStatus(429), "bootstrap rate limit (429)");
    assert.equal(describeStatus(500), "service error (500)");
    assert.equal(describeStatus(503), "service error (503)");
    assert.equal(describeStatus(302), "redirect not followed (302)");
    assert.equal(describeStatus(204), "unexpected status 204");
    assert.equal(describeStatus(418), "unexpected status 418");
  });
});

describe("Bootstrap contract: response", () => {
  it("accepts a 200 JSON assignment for this device and an allowed hub", () => {
    assert.deepEqual(parseAssignmentResponse(jsonResponse(200, good), DEVICE, allowsHub), good);
  });

  it("ignores unknown members and normalizes the host name to lower case", () => {
    const body = { ...good, hubHostName: "IoTRafi-Prod-IoT-Hub.azure-devices.NET", extra: { nested: [1, 2] }, ttl: 3600, hubPort: 1234 };
    assert.deepEqual(parseAssignmentResponse(jsonResponse(200, body), DEVICE, allowsHub), good);
  });

  it("accepts application/json with parameters, or no Content-Type at all; refuses other media types", () => {
    assert.deepEqual(parseAssignmentResponse(jsonResponse(200, good, { "content-type": "Application/JSON; charset=utf-8" }), DEVICE, allowsHub), good);
    assert.deepEqual(parseAssignmentResponse(jsonResponse(200, good, {}), DEVICE, allowsHub), good);
    refused(jsonResponse(200, good, { "content-type": "text/html" }), "media-type", /text\/html/);
    refused(jsonResponse(200, good, { "content-type": "application/jsonp" }), "media-type", /application\/jsonp/);
  });

  it("refuses every status other than 200, whatever the body", () => {
    for (const status of [201, 204, 301, 302, 400, 401, 403, 404, 429, 500, 502, 503]) {
      assert.throws(
        () => parseAssignmentResponse(jsonResponse(status, good), DEVICE, allowsHub),
        (e) => e instanceof BootstrapResponseError && e.kind === "status" && e.status === status && e.message === describeStatus(status),
        String(status),
      );
    }
  });

  it("refuses a body that is not UTF-8", () => {
    refused({ status: 200, headers: {}, body: new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]) }, "encoding", /not valid UTF-8/);
  });

  it("refuses JSON syntax errors", () => {
    for (const body of ["", "{", "{\"deviceId\": \"box-0042\",}", "deviceId=box-0042", "<html></html>", "{'deviceId': 'box-0042'}"]) {
      refused(textResponse(200, body), "json", /not JSON/);
    }
  });

  it("refuses JSON that is not an object", () => {
    for (const body of ["null", "[]", "[{\"deviceId\":\"box-0042\"}]", "\"box-0042\"", "42", "true"]) refused(textResponse(200, body), "schema", /not a JSON object/);
  });

  it("refuses missing or mistyped members", () => {
    refused(jsonResponse(200, { hubHostName: DEFAULT_HUB_HOST }), "schema", /deviceId is missing/);
    refused(jsonResponse(200, { deviceId: 42, hubHostName: DEFAULT_HUB_HOST }), "schema", /deviceId .*not a string/);
    refused(jsonResponse(200, { deviceId: null, hubHostName: DEFAULT_HUB_HOST }), "schema", /deviceId/);
    refused(jsonResponse(200, { deviceId: [DEVICE], hubHostName: DEFAULT_HUB_HOST }), "schema", /deviceId/);
    refused(jsonResponse(200, { deviceId: DEVICE }), "schema", /hubHostName is missing/);
    refused(jsonResponse(200, { deviceId: DEVICE, hubHostName: { host: DEFAULT_HUB_HOST } }), "schema", /hubHostName .*not a string/);
    refused(jsonResponse(200, { DeviceId: DEVICE, HubHostName: DEFAULT_HUB_HOST }), "schema", /deviceId is missing/);
  });

  it("reads only own members (a __proto__ member cannot supply them)", () => {
    refused(textResponse(200, `{"__proto__": {"deviceId": "${DEVICE}", "hubHostName": "${DEFAULT_HUB_HOST}"}}`), "schema", /deviceId is missing/);
  });

  it("refuses a deviceId that is not a valid device id", () => {
    for (const id of ["", "bøx-0042", "box-0042\u0000", "box/0042", "box#1", "box 0042", "x".repeat(129), "box-0042\r\nX: y"]) {
      refused(jsonResponse(200, { ...good, deviceId: id }), "device-id", /invalid device id/);
    }
  });

  it("refuses an assignment for another device (case-sensitive)", () => {
    refused(jsonResponse(200, { ...good, deviceId: "box-0043" }), "device-id", /for device "box-0043", not "box-0042"/);
    refused(jsonResponse(200, { ...good, deviceId: "BOX-0042" }), "device-id", /not "box-0042"/);
    refused(jsonResponse(200, { ...good, deviceId: "box-0042 " }), "device-id", /invalid device id/);
  });

  it("refuses a hubHostName that is not a DNS host name", () => {
    const bad = ["", "localhost", "127.0.0.1", "iotrafi-prod-iot-hub.azure-devices.net:8883", "mqtts://iotrafi-prod-iot-hub.azure-devices.net",
      "iotrafi-prod-iot-hub.azure-devices.net.", "iotrafi-prod-iot-hüb.azure-devices.net", "iotrafi-prod-iot-hub.azure-devices.net\r\nHost: x",
      "iotrafi-prod-iot-hub.azure-devices.net/evil"];
    for (const host of bad) refused(jsonResponse(200, { ...good, hubHostName: host }), "hub", /not a valid DNS host name/);
  });

  it("refuses a hub the egress table does not allow for MQTT/TLS 8883", () => {
    refused(jsonResponse(200, { ...good, hubHostName: "evil.example.com" }), "hub", /evil\.example\.com is not allowed by the egress table/);
    // Allowed for HTTPS 443, not for MQTT 8883.
    refused(jsonResponse(200, { ...good, hubHostName: "bootstrap.centersightcloud.com" }), "hub", /not allowed/);
    refused(jsonResponse(200, { ...good, hubHostName: "other-hub.azure-devices.net" }), "hub", /not allowed/);
  });

  it("asks the predicate with the lower-case host name", () => {
    const asked: string[] = [];
    const result = validateAssignment({ ...good, hubHostName: "Hub-7.Example.ORG" }, DEVICE, (host) => (asked.push(host), true));
    assert.deepEqual(asked, ["hub-7.example.org"]);
    assert.equal(result.hubHostName, "hub-7.example.org");
  });
});
