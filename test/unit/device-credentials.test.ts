import assert from "../support/assert";
import { fromHex, loadFixture } from "../support/fixtures";
import { bitLength, checkDeviceCredentials, isAzureHubName, parsePrivateKeyInfo } from "../../src/x509/device-credentials";

// Certificates and keys made by openssl at test time: test/fixtures/device-credentials.ts.
interface Fixture {
  readonly now: number;
  readonly certificates: Record<string, string>;
  readonly keys: Record<string, string>;
}

const AZURE = "myhub.azure-devices.net";

describe("device credential pre-checks", () => {
  let f: Fixture;
  before(() => {
    f = loadFixture<Fixture>("device-credentials");
  });
  const check = (cert: string, key: string, options: { hubHost?: string; rootsGiven?: boolean; now?: number } = {}): string[] =>
    checkDeviceCredentials({
      certificate: fromHex(f.certificates[cert]!),
      privateKey: fromHex(f.keys[key]!),
      hubHost: options.hubHost ?? AZURE,
      rootsGiven: options.rootsGiven ?? false,
      now: options.now ?? f.now,
    });
  const only = (problems: string[], pattern: RegExp): void => {
    assert.equal(problems.length, 1, problems.join(" | "));
    assert.match(problems[0]!, pattern);
  };

  it("accepts an RSA-2048 certificate with its key, for clientAuth or without extendedKeyUsage", () => {
    assert.deepEqual(check("good", "rsa"), []);
    assert.deepEqual(check("noEku", "rsa"), []);
    assert.deepEqual(check("good", "rsa", { hubHost: "localhost", rootsGiven: true }), []);
  });

  it("refuses a key that does not belong to the certificate", () => {
    only(check("good", "otherRsa"), /^the device key does not belong to the device certificate/);
  });

  it("refuses an EC key: the device signs with RSA-2048 only", () => {
    only(check("ec", "ec"), /^the device key is an EC key \(P-256\): the device signs its TLS handshake with RSA-2048 keys only/);
    only(check("good", "ec"), /EC key \(P-256\)/);
  });

  it("refuses an RSA key of another size", () => {
    only(check("rsa3072", "rsa3072"), /^the device key is RSA-3072: .*RSA-2048 keys only/);
  });

  it("refuses a certificate outside its validity period, saying when", () => {
    only(check("expired", "rsa"), /^the device certificate expired on 2021-01-01T00:00:00\.000Z$/);
    only(check("future", "rsa"), /^the device certificate is not valid yet: from 2030-01-01T00:00:00\.000Z/);
    only(check("good", "rsa", { now: Date.UTC(2041, 0, 1) }), /expired on 2040-01-01/);
  });

  it("refuses a certificate whose extendedKeyUsage lacks clientAuth, and a CA certificate", () => {
    only(check("serverOnly", "rsa"), /not for TLS client authentication \(its extendedKeyUsage lacks clientAuth\)/);
    only(check("caCert", "rsa"), /is a CA certificate/);
  });

  it("asks for the trust root of a hub that is not Azure's, and lists every problem at once", () => {
    only(check("good", "rsa", { hubHost: "localhost" }), /^the hub localhost is not an Azure IoT Hub name .*--ca FILE/);
    only(check("good", "rsa", { hubHost: "127.0.0.1" }), /the hub 127\.0\.0\.1 /);
    const all = check("expired", "otherRsa", { hubHost: "broker" });
    assert.equal(all.length, 3, all.join(" | "));
  });

  it("refuses what is not a certificate or a PKCS#8 key", () => {
    const problems = checkDeviceCredentials({ certificate: new Uint8Array([1, 2, 3]), privateKey: fromHex(f.certificates["good"]!), hubHost: AZURE, rootsGiven: false, now: f.now });
    assert.equal(problems.length, 2, problems.join(" | "));
    assert.match(problems[0]!, /not a well-formed X\.509 certificate/);
    assert.match(problems[1]!, /not an unencrypted PKCS#8 private key/);
  });

  it("reads the key type and size from PKCS#8, and knows Azure's hub names", () => {
    const rsa = parsePrivateKeyInfo(fromHex(f.keys["rsa"]!));
    assert.equal(rsa.kind, "rsa");
    assert.equal(rsa.kind === "rsa" ? bitLength(rsa.modulus) : 0, 2048);
    assert.deepEqual(parsePrivateKeyInfo(fromHex(f.keys["ec"]!)), { kind: "ec", curve: "P-256" });
    assert.equal(bitLength(new Uint8Array([0, 1, 0])), 9);
    assert.ok(isAzureHubName("MyHub.azure-devices.net"));
    assert.ok(!isAzureHubName("azure-devices.net"));
    assert.ok(!isAzureHubName("a.b.azure-devices.net"));
    assert.ok(!isAzureHubName("localhost"));
  });
});
