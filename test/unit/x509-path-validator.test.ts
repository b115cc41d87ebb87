import assert from "../support/assert";
import { fromHex, loadFixture } from "../support/fixtures";
import { CertificatePathValidator, type TrustVerdict } from "../../src/x509/path-validator";
import { PortableSignatureVerifier } from "../../src/crypto/signature-verifier";
import { parseCertificate } from "../../src/x509/certificate";

// Certificates made by openssl at test time: test/fixtures/x509-chains.ts.
interface Chains {
  readonly now: number;
  readonly certificates: Record<string, string>;
}

const HUB = "iotrafi-prod-iot-hub.azure-devices.net";
const DAY = 86_400_000;

describe("certificate path validator", () => {
  let chains: Chains;
  const cert = (name: string): Uint8Array => {
    const hex = chains.certificates[name];
    if (!hex) throw new Error(`no fixture certificate ${name}`);
    return fromHex(hex);
  };
  const verifier = new PortableSignatureVerifier();
  const validator = (anchors: readonly string[] = ["ecRoot", "rsaRoot"], limits = {}) =>
    new CertificatePathValidator(
      anchors.map((a) => cert(a)),
      verifier,
      limits,
    );
  const check = (names: readonly string[], options: { serverName?: string; now?: number; anchors?: readonly string[] } = {}): TrustVerdict =>
    validator(options.anchors).validate(
      names.map((n) => cert(n)),
      options.serverName ?? HUB,
      options.now ?? chains.now,
    );
  const refused = (verdict: TrustVerdict, reason: string, position: number): void => {
    assert.ok(!verdict.ok, `expected ${reason}, but the chain was accepted`);
    assert.equal(verdict.reason, reason, verdict.detail);
    assert.equal(verdict.position, position, `${verdict.reason} at ${verdict.position}: ${verdict.detail}`);
    assert.ok(verdict.detail.length > 0, "a detail for the log");
  };

  before(() => {
    chains = loadFixture<Chains>("x509-chains");
  });

  describe("good chains", () => {
    it("accepts an ECDSA chain (P-256 leaf <- P-256 CA <- P-384 root, SHA-256 and SHA-384)", () => {
      const verdict = check(["ecLeaf", "ecInt"]);
      assert.ok(verdict.ok, verdict.ok ? "" : verdict.detail);
      assert.deepEqual(verdict.path, [`"${HUB}"`, '"Test EC Issuing CA"', '"Test EC Root"']);
    });

    it("accepts an RSA chain (PKCS#1 v1.5, SHA-256 and SHA-384) with a wildcard name", () => {
      const verdict = check(["rsaLeaf", "rsaInt"]);
      assert.ok(verdict.ok, verdict.ok ? "" : verdict.detail);
      assert.equal(verdict.path.length, 3);
    });

    it("accepts the root sent along, and the certificates in any order", () => {
      assert.ok(check(["ecLeaf", "ecInt", "ecRoot"]).ok);
      assert.ok(check(["ecLeaf", "ecRoot", "ecInt"]).ok);
    });

    it("finds the path past an unrelated extra certificate", () => {
      assert.ok(check(["ecLeaf", "rsaInt", "ecInt"]).ok);
    });

    it("matches an IPv4 literal against an iPAddress entry only", () => {
      assert.ok(check(["ipLeaf", "ecInt"], { serverName: "127.0.0.1" }).ok);
      refused(check(["ipLeaf", "ecInt"], { serverName: "localhost" }), "name-mismatch", 0);
      refused(check(["ecLeaf", "ecInt"], { serverName: "127.0.0.1" }), "name-mismatch", 0);
    });

    it("compares names case-insensitively and ignores a trailing dot", () => {
      assert.ok(check(["ecLeaf", "ecInt"], { serverName: HUB.toUpperCase() }).ok);
      assert.ok(check(["ecLeaf", "ecInt"], { serverName: `${HUB}.` }).ok);
    });
  });

  describe("forged and broken chains", () => {
    it("refuses a self-signed certificate for the hub with the trusted root appended: untrusted", () => {
      refused(check(["selfSigned", "ecRoot"]), "untrusted", 0);
      refused(check(["selfSigned"]), "untrusted", 0);
    });

    it("refuses the issue's forgery against the shipped roots: self-signed hub certificate + DigiCert Global Root G2", () => {
      refused(check(["selfSigned", "digiCertGlobalRootG2"], { anchors: ["digiCertGlobalRootG2", "microsoftRsaRoot2017"] }), "untrusted", 0);
    });

    it("refuses a leaf signed by an end-entity certificate that chains to the root: not-a-ca", () => {
      refused(check(["leafUnderEndEntity", "endEntity", "ecInt"]), "not-a-ca", 1);
      refused(check(["leafUnderEndEntityNoBc", "endEntityNoBc", "ecInt"]), "not-a-ca", 1);
    });

    it("honours pathLenConstraint: path-length-exceeded", () => {
      refused(check(["leafUnderSubCa", "subCa", "ecInt"]), "path-length-exceeded", 2);
    });

    it("refuses an issuer whose keyUsage lacks keyCertSign: key-usage", () => {
      refused(check(["leafUnderNoCertSign", "noCertSignCa"]), "key-usage", 1);
    });

    it("refuses a leaf whose extKeyUsage is clientAuth only: not-server-auth", () => {
      refused(check(["clientAuthLeaf", "ecInt"]), "not-server-auth", 0);
    });

    it("refuses expired and not-yet-valid certificates at each position", () => {
      refused(check(["expiredLeaf", "ecInt"]), "expired", 0);
      refused(check(["futureLeaf", "ecInt"]), "not-yet-valid", 0);
      refused(check(["leafUnderExpiredCa", "expiredCa"]), "expired", 1);
      refused(check(["leafUnderFutureCa", "futureCa"]), "not-yet-valid", 1);
      refused(check(["leafUnderExpiredRoot", "caUnderExpiredRoot"], { anchors: ["expiredRoot"] }), "expired", 2);
      refused(check(["leafUnderFutureRoot", "caUnderFutureRoot"], { anchors: ["futureRoot"] }), "not-yet-valid", 2);
    });

    it("checks validity against the given clock", () => {
      refused(check(["ecLeaf", "ecInt"], { now: Date.UTC(2040, 0, 2) }), "expired", 0);
      refused(check(["ecLeaf", "ecInt"], { now: Date.UTC(2019, 11, 31) }), "not-yet-valid", 0);
      assert.ok(check(["expiredLeaf", "ecInt"], { now: Date.UTC(2020, 5, 1) }).ok, "valid in 2020");
      refused(check(["ecLeaf", "ecInt"], { now: Number.NaN }), "clock-not-set", 0);
    });

    it("refuses a name that is not in the subjectAltName, and never uses the CN", () => {
      refused(check(["otherNameLeaf", "ecInt"]), "name-mismatch", 0);
      refused(check(["cnOnlyLeaf", "ecInt"]), "name-mismatch", 0);
    });

    it("lets *.azure-devices.net match exactly one label", () => {
      assert.ok(check(["rsaLeaf", "rsaInt"], { serverName: "other-hub.azure-devices.net" }).ok);
      refused(check(["rsaLeaf", "rsaInt"], { serverName: "a.b.azure-devices.net" }), "name-mismatch", 0);
      refused(check(["rsaLeaf", "rsaInt"], { serverName: "azure-devices.net" }), "name-mismatch", 0);
      refused(check(["rsaLeaf", "rsaInt"], { serverName: "evil-azure-devices.net" }), "name-mismatch", 0);
    });

    it("refuses an unknown critical extension (on the leaf, and name constraints on a CA)", () => {
      refused(check(["criticalExtLeaf", "ecInt"]), "unknown-critical-extension", 0);
      refused(check(["leafUnderNameConstrained", "nameConstrainedCa"]), "unknown-critical-extension", 1);
    });

    it("refuses a wrong signature byte: bad-signature (ECDSA and RSA, leaf and CA)", () => {
      for (const [leaf, ca] of [
        ["ecLeaf", "ecInt"],
        ["rsaLeaf", "rsaInt"],
      ] as const) {
        const tampered = cert(leaf).slice();
        tampered[tampered.length - 1] ^= 0x01;
        refused(validator().validate([tampered, cert(ca)], HUB, chains.now), "bad-signature", 0);
        const tamperedCa = cert(ca).slice();
        tamperedCa[tamperedCa.length - 3] ^= 0x40;
        refused(validator().validate([cert(leaf), tamperedCa], HUB, chains.now), "bad-signature", 1);
      }
    });

    it("refuses SHA-1 signatures: unsupported-algorithm", () => {
      refused(check(["sha1Leaf", "ecInt"]), "unsupported-algorithm", 0);
    });

    it("refuses a changed byte in the signed part: bad-signature", () => {
      const tampered = cert("ecLeaf").slice();
      const serialAt = 15; // inside tbsCertificate's serial number
      tampered[serialAt] ^= 0x01;
      refused(validator().validate([tampered, cert("ecInt")], HUB, chains.now), "bad-signature", 0);
    });

    it("refuses a chain of 12 certificates: chain-too-long", () => {
      const deep = ["deepLeaf", ...Array.from({ length: 10 }, (_, i) => `deep${10 - i}`), "ecRoot"];
      assert.equal(deep.length, 12);
      refused(check(deep), "chain-too-long", 11);
      // within the count of certificates sent, the path length bound still applies
      const v = new CertificatePathValidator([cert("ecRoot")], verifier, { maxPresented: 16 });
      refused(
        v.validate(
          deep.map((n) => cert(n)),
          HUB,
          chains.now,
        ),
        "chain-too-long",
        5,
      );
    });

    it("refuses no certificate, garbage and trailing bytes: no-certificate, malformed", () => {
      refused(validator().validate([], HUB, chains.now), "no-certificate", 0);
      refused(validator().validate([new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x01])], HUB, chains.now), "malformed", 0);
      const trailing = new Uint8Array(cert("ecLeaf").length + 1);
      trailing.set(cert("ecLeaf"));
      refused(validator().validate([trailing, cert("ecInt")], HUB, chains.now), "malformed", 0);
      refused(validator().validate([cert("ecLeaf"), cert("ecInt").subarray(0, 50)], HUB, chains.now), "malformed", 1);
    });

    it("trusts nothing without anchors, and reports anchors it cannot read", () => {
      const v = new CertificatePathValidator([new Uint8Array([1, 2, 3])], verifier);
      assert.equal(v.anchorProblems.length, 1);
      refused(v.validate([cert("ecLeaf"), cert("ecInt")], HUB, chains.now), "untrusted", 0);
    });

    it("does not trust a root that is sent but not configured", () => {
      refused(check(["ecLeaf", "ecInt", "ecRoot"], { anchors: ["rsaRoot"] }), "untrusted", 2);
      refused(check(["ecLeaf", "ecInt"], { anchors: ["rsaRoot"] }), "untrusted", 1);
    });

    it("stays within a day of the validity edges", () => {
      const leaf = parseCertificate(cert("expiredLeaf"));
      assert.ok(check(["expiredLeaf", "ecInt"], { now: leaf.notAfter - DAY }).ok);
      refused(check(["expiredLeaf", "ecInt"], { now: leaf.notAfter + 1000 }), "expired", 0);
    });
  });

  describe("the shipped roots", () => {
    it("parses DigiCert Global Root G2 and Microsoft RSA Root CA 2017, and their self-signatures verify", () => {
      for (const name of ["digiCertGlobalRootG2", "microsoftRsaRoot2017"]) {
        const root = parseCertificate(cert(name));
        assert.equal(root.basicConstraints?.ca, true, name);
        assert.ok(verifier.verify(root.signatureAlgorithm, root.publicKey, root.tbs, root.signature), `${name} self-signature`);
      }
    });
  });
});
