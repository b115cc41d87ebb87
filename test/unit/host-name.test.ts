import assert from "../support/assert";
import { dnsNameMatches, matchesServerName } from "../../src/x509/host-name";

const san = (dnsNames: string[], ipAddresses: Uint8Array[] = []) => ({ dnsNames, ipAddresses });

describe("server name against subjectAltName (RFC 6125)", () => {
  it("matches exact names case-insensitively", () => {
    assert.ok(dnsNameMatches("iotrafi-prod-iot-hub.azure-devices.net", "iotrafi-prod-iot-hub.azure-devices.net"));
    assert.ok(matchesServerName(san(["IoTRafi-Prod-IoT-Hub.Azure-Devices.NET"]), "iotrafi-prod-iot-hub.azure-devices.net"));
    assert.ok(!matchesServerName(san(["hub.example.com"]), "hub.example.org"));
  });

  it("lets a left-most wildcard label match exactly one label", () => {
    assert.ok(dnsNameMatches("*.azure-devices.net", "hub.azure-devices.net"));
    assert.ok(!dnsNameMatches("*.azure-devices.net", "a.hub.azure-devices.net"));
    assert.ok(!dnsNameMatches("*.azure-devices.net", "azure-devices.net"));
    assert.ok(!dnsNameMatches("*.azure-devices.net", ".azure-devices.net"));
  });

  it("never matches partial, inner or broad wildcards", () => {
    assert.ok(!dnsNameMatches("h*.azure-devices.net", "hub.azure-devices.net"));
    assert.ok(!dnsNameMatches("*b.azure-devices.net", "hub.azure-devices.net"));
    assert.ok(!dnsNameMatches("hub.*.net", "hub.azure-devices.net"));
    assert.ok(!dnsNameMatches("*.*.net", "a.b.net"));
    assert.ok(!dnsNameMatches("*.net", "example.net"));
    assert.ok(!dnsNameMatches("*", "localhost"));
  });

  it("does not let a server name with a wildcard match anything", () => {
    assert.ok(!matchesServerName(san(["*.azure-devices.net"]), "*.azure-devices.net"));
  });

  it("matches IPv4 literals only against iPAddress entries", () => {
    const ip = new Uint8Array([127, 0, 0, 1]);
    assert.ok(matchesServerName(san([], [ip]), "127.0.0.1"));
    assert.ok(!matchesServerName(san(["127.0.0.1"]), "127.0.0.1"));
    assert.ok(!matchesServerName(san([], [ip]), "127.0.0.2"));
    assert.ok(!matchesServerName(san([], [ip]), "127.000.0.1"));
  });

  it("refuses without a subjectAltName and for empty names", () => {
    assert.ok(!matchesServerName(undefined, "hub.azure-devices.net"));
    assert.ok(!matchesServerName(san(["hub.azure-devices.net"]), ""));
  });
});
