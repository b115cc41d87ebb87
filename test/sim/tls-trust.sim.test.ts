// The device build's TLS trust against hostile servers: the KIS.BOX firmware in mcsim (the SDK's TLS handshake with
// the project's certificate manager, modules/tls-trust) meets loopback TLS servers that present forged chains for
// the hub, the bootstrap service and blob storage. The device must send nothing over such a connection (no MQTT
// CONNECT, no HTTP request) and log why; a server with a good chain must get the device's first bytes.
//
// The forged chains are made by openssl at test time (test/fixtures/x509-chains.ts) under the development CA that
// the simulator build trusts, so every forgery is "almost right": the trusted root is real, only the one flaw differs.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { createCa } from "../../host/pki/dev-pki";
import { BLOB_HOST } from "../../host/hub/local-blob-store";
import { signRelease } from "../../host/update/release-signer";
import { BOOTSTRAP_HOST, DEFAULT_HUB_HOST } from "../../src/bootstrap/bootstrap-contract";
import { makeX509Chains, type X509Chains } from "../fixtures/x509-chains";
import { waitFor } from "../integration/support/processes";
import { ForgedTlsServer } from "./support/forged-tls-server";
import { SimRig } from "./support/sim-rig";
import type { McSim } from "./support/mcsim";

const DEVICE = "kisbox-sim-1";

/** Each forged chain (certificate names of the fixture, leaf first) and the reason the device must give. */
const FORGED: readonly { readonly name: string; readonly chain: readonly string[]; readonly reason: string }[] = [
  { name: "self-signed hub certificate + the trusted root", chain: ["selfSigned", "ecRoot"], reason: "untrusted" },
  { name: "leaf signed by an end-entity certificate", chain: ["leafUnderEndEntity", "endEntity", "ecInt"], reason: "not-a-ca" },
  { name: "pathLen exceeded", chain: ["leafUnderSubCa", "subCa", "ecInt"], reason: "path-length-exceeded" },
  { name: "issuer without keyCertSign", chain: ["leafUnderNoCertSign", "noCertSignCa"], reason: "key-usage" },
  { name: "leaf for clientAuth only", chain: ["clientAuthLeaf", "ecInt"], reason: "not-server-auth" },
  { name: "expired leaf", chain: ["expiredLeaf", "ecInt"], reason: "expired" },
  { name: "leaf not yet valid", chain: ["futureLeaf", "ecInt"], reason: "not-yet-valid" },
  { name: "expired issuing CA", chain: ["leafUnderExpiredCa", "expiredCa"], reason: "expired" },
  { name: "name mismatch", chain: ["otherNameLeaf", "ecInt"], reason: "name-mismatch" },
  { name: "unknown critical extension", chain: ["criticalExtLeaf", "ecInt"], reason: "unknown-critical-extension" },
  { name: "wrong signature byte", chain: ["tamperedLeaf", "ecInt"], reason: "bad-signature" },
  { name: "chain of 12", chain: ["deepLeaf", ...Array.from({ length: 10 }, (_, i) => `deep${10 - i}`), "ecRoot"], reason: "chain-too-long" },
];
const GOOD = { name: "good chain", chain: ["ecLeaf", "ecInt"] } as const;

describe("KIS.BOX in the Moddable simulator: TLS trust against forged servers", function () {
  this.timeout(900_000);
  let rig: SimRig;
  let forger: ForgedTlsServer;
  let chains: X509Chains;
  const der = (name: string): Buffer => {
    if (name === "tamperedLeaf") {
      const leaf = Buffer.from(chains.certificates.ecLeaf!, "hex");
      leaf[leaf.length - 1]! ^= 0x01;
      return leaf;
    }
    return Buffer.from(chains.certificates[name]!, "hex");
  };
  const present = (name: string, chain: readonly string[]): void => forger.present(name, chain.map(der), chains.leafKeyPem);

  before(async () => {
    // The forger starts first (the build needs its port); it is handed the chains once the cloud's CA exists.
    forger = await ForgedTlsServer.start(placeholderChain());
    rig = await SimRig.start(DEVICE, "box", { firmwareVersion: "1.0.0" }, { bootstrap: forger.port, blobs: forger.port });
    const ca = createCa(resolve(join(rig.dir, "pki"))); // the local cloud's development CA: trusted by the build
    chains = makeX509Chains({ names: [DEFAULT_HUB_HOST, BOOTSTRAP_HOST, BLOB_HOST], leafKey: "rsa", root: { certFile: ca.cert, keyFile: ca.key } });
    rig.hubLink.targetPort = forger.port;
  });

  after(async () => {
    await rig?.dispose();
    await forger?.close();
  });

  for (const forged of FORGED) {
    it(`refuses ${forged.name} for the bootstrap service and the hub (${forged.reason}), sending nothing`, async () => {
      present(forged.name, forged.chain);
      const s = await rig.powerOn();
      await expectRefused(s, forger, forged.name, forged.reason);
    });
  }

  it("accepts the good chain: the bootstrap request and the MQTT CONNECT arrive", async () => {
    present(GOOD.name, GOOD.chain);
    const s = await rig.powerOn();
    await waitFor(() => forger.shown(GOOD.name, BOOTSTRAP_HOST).some((c) => c.received.toString("latin1").startsWith("GET /api/v1/devices/")), "the bootstrap request at the good server", 60_000);
    await waitFor(() => forger.shown(GOOD.name, DEFAULT_HUB_HOST).some((c) => c.received[0] === 0x10), "an MQTT CONNECT at the good server", 60_000);
    assert.ok(!s.has(/server certificate refused/), "no refusal with the good chain");
    await s.stop();
  });

  it("refuses a forged blob storage server during an update (no HTTP request, reason in firmware.lastError, no SAS in any line); a good one gets the request", async () => {
    rig.hubLink.targetPort = rig.cloud.broker.port; // the real (local) hub, so that an update can be ordered
    present(FORGED[0]!.name, FORGED[0]!.chain);
    const s = await rig.powerOn();
    await s.waitFor(/boot phase phase=online/, 60_000);
    // The bootstrap service (still the forger) was refused on the way: the reason reaches the diagnostics.
    await waitFor(
      () => /bootstrap.*certificate refused: untrusted/.test(JSON.stringify((rig.cloud.hub.reported as { diagnostics?: { lastError?: unknown } }).diagnostics?.lastError ?? "")),
      "diagnostics.lastError names the refused bootstrap certificate",
      30_000,
    );
    const secret = "SAS-SECRET-" + randomBytes(4).toString("hex");
    const order = async (version: string): Promise<void> => {
      const image = randomBytes(20_000);
      const url = `https://${BLOB_HOST}/fw/kisbox-${version}.bin?sv=2024-01-01&sig=${secret}`;
      await rig.cloud.hub.updateDesired({ firmware: { ...signRelease(image, rig.releaseKey, { version, url }) } });
    };
    await order("1.0.1");
    await s.waitFor(/warn +\[https\] server certificate refused .*reason=untrusted\b/, 60_000);
    const firmware = () => (rig.cloud.hub.reported.firmware ?? {}) as { lastError?: string | null };
    await waitFor(() => /certificate refused: untrusted/.test(firmware().lastError ?? ""), "firmware.lastError says why", 60_000);
    for (const c of forger.shown(FORGED[0]!.name, BLOB_HOST)) assert.equal(c.received.length, 0, "no HTTP request to the forged blob server");
    assert.ok(forger.shown(FORGED[0]!.name, BLOB_HOST).length > 0, "the device reached the forged blob server");

    present(GOOD.name, GOOD.chain);
    await order("1.0.2");
    await waitFor(() => forger.shown(GOOD.name, BLOB_HOST).some((c) => c.received.toString("latin1").startsWith("GET /fw/kisbox-1.0.2.bin?sv=")), "the image request at the good blob server", 60_000);
    assert.ok(!s.lines.some((l) => l.includes(secret)), "the SAS signature appears in no log line");
    assert.ok(!JSON.stringify(rig.cloud.hub.reported).includes(secret), "nor in a reported property");
    await s.stop();
  });
});

/**
 * Waits until the device has either refused the chain for both the bootstrap service and the hub, or sent
 * application bytes to the forger (which fails at once, with what was sent); then powers it off and checks that no
 * connection to the forger carried a byte after the handshake, or completed it.
 */
async function expectRefused(s: McSim, forger: ForgedTlsServer, chain: string, reason: string): Promise<void> {
  const refusal = (scope: string) => new RegExp(`warn +\\[${scope}\\] server certificate refused .*reason=${reason}\\b`);
  const leaked = () => forger.shown(chain).find((c) => c.received.length > 0);
  await waitFor(() => leaked() !== undefined || (s.has(refusal("https")) && s.has(refusal("tls"))), `refusals (${reason}) for bootstrap and hub`, 60_000);
  await s.stop();
  const leak = leaked();
  assert.equal(leak, undefined, `the device sent ${leak?.received.length} application bytes to the forged ${leak?.serverName}: ${JSON.stringify(leak?.received.subarray(0, 24).toString("latin1"))}`);
  for (const host of [BOOTSTRAP_HOST, DEFAULT_HUB_HOST]) {
    const shown = forger.shown(chain, host);
    assert.ok(shown.length > 0, `the device reached the forged ${host}`);
    for (const c of shown) assert.equal(c.handshakeDone, false, `${host}: the handshake with a forged server completed`);
  }
}

/** A throwaway self-signed chain for the forger's first context (replaced before any device connects). */
function placeholderChain(): { name: string; certificates: Buffer[]; keyPem: string } {
  const c = makeX509Chains({ leafKey: "ec" });
  return { name: "placeholder", certificates: [Buffer.from(c.certificates.selfSigned!, "hex")], keyPem: c.leafKeyPem };
}

// The reproduction, with the roots the firmware ships: a self-signed certificate for the hub's name followed
// by the real DigiCert Global Root G2 certificate. The SDK's own check accepted it (the device sent its bootstrap
// request and its MQTT CONNECT); the project's validator must refuse it as untrusted.
describe("KIS.BOX in the Moddable simulator with the production roots: the self-signed + DigiCert G2 forgery", function () {
  this.timeout(600_000);
  let rig: SimRig;
  let forger: ForgedTlsServer;

  before(async () => {
    const chains = makeX509Chains({ names: [DEFAULT_HUB_HOST, BOOTSTRAP_HOST, BLOB_HOST], leafKey: "rsa" });
    const digiCert = readFileSync(join(__dirname, "../../../certs/DigiCertGlobalRootG2.der"));
    forger = await ForgedTlsServer.start({ name: "self-signed + DigiCert G2", certificates: [Buffer.from(chains.certificates.selfSigned!, "hex"), digiCert], keyPem: chains.leafKeyPem });
    rig = await SimRig.start(DEVICE, "box", { firmwareVersion: "1.0.0", trustedRoots: "DigiCertGlobalRootG2.der,MicrosoftRSARootCA2017.der" }, { bootstrap: forger.port, blobs: forger.port });
    rig.hubLink.targetPort = forger.port;
  });

  after(async () => {
    await rig?.dispose();
    await forger?.close();
  });

  it("refuses it for the bootstrap service and the hub (untrusted); no request, no CONNECT", async () => {
    const s = await rig.powerOn();
    await expectRefused(s, forger, "self-signed + DigiCert G2", "untrusted");
  });
});
