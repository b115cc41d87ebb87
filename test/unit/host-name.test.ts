import assert from "../support/assert";
import { dnsNameMatches, ipv6Bytes, matchesServerName } from "../../src/x509/host-name";

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

  it("matches IPv6 literals only against 16-byte iPAddress entries", () => {
    const loopback = new Uint8Array(16);
    loopback[15] = 1;
    assert.ok(matchesServerName(san([], [loopback]), "::1"));
    assert.ok(matchesServerName(san([], [loopback]), "0:0:0:0:0:0:0:1"));
    assert.ok(!matchesServerName(san(["::1"]), "::1"));
    assert.ok(!matchesServerName(san([], [new Uint8Array([127, 0, 0, 1])]), "::1"));
    assert.ok(!matchesServerName(san([], [loopback]), "::2"));
  });

  it("reads IPv6 literals as RFC 4291 writes them, and nothing else", () => {
    assert.deepEqual(ipv6Bytes("::"), new Array<number>(16).fill(0));
    assert.deepEqual(ipv6Bytes("2001:db8::ff00:42:8329"), [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0xff, 0x00, 0x00, 0x42, 0x83, 0x29]);
    assert.deepEqual(ipv6Bytes("::ffff:192.0.2.1"), [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1]);
    for (const bad of ["1::2::3", "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7::8", "12345::1", "::g", "fe80::1%eth0", "[::1]", "localhost", "127.0.0.1", ":1"]) {
      assert.equal(ipv6Bytes(bad), undefined, bad);
    }
  });

  it("refuses without a subjectAltName and for empty names", () => {
    assert.ok(!matchesServerName(undefined, "hub.azure-devices.net"));
    assert.ok(!matchesServerName(san(["hub.azure-devices.net"]), ""));
  });
});
