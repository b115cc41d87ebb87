// TLS session resumption on the device build's hub link: the KIS.BOX firmware in mcsim (the SDK's TLS 1.2 client,
// with the project's session cache, modules/tls-session-cache, and certificate check, modules/tls-trust) against
// mosquitto (OpenSSL, session-ID cache, client certificates required) with the local hub's service side on it,
// under the local cloud's development CA: the server the issue asks about (the local cloud's embedded broker resumes
// too, test/integration/tls-resumption-host.test.ts). Between the device and the broker a census proxy reads the plaintext handshake records: a resumed connection is an abbreviated
// handshake (ServerHello with the session ID the device offered, ChangeCipherSpec, no Certificate).
//
// mosquitto keeps a session only if its connection did not end with a bare FIN (OpenSSL 3 answers an EOF without
// close_notify with a fatal alert and removes the session; the SDK's TLS socket sends no close_notify). The drops
// here are resets, as a lost link shows up at the server; see README "TLS session resumption".
import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import { createCa, issueClient, issueServer } from "../../host/pki/dev-pki";
import { LocalHub } from "../../host/hub/local-hub";
import { BOOTSTRAP_HOST, DEFAULT_HUB_HOST } from "../../src/bootstrap/bootstrap-contract";
import { Mosquitto } from "../integration/support/mosquitto";
import { makeX509Chains } from "../fixtures/x509-chains";
import { TlsHandshakeCensus, kindOf } from "../integration/support/tls-handshake-census";
import { ForgedTlsServer } from "./support/forged-tls-server";
import { SimRig } from "./support/sim-rig";
import { join, resolve } from "node:path";

const DEVICE = "kisbox-sim-1";

describe("KIS.BOX in the Moddable simulator: TLS session resumption on the hub link", function () {
  this.timeout(900_000);
  let rig: SimRig;
  let census: TlsHandshakeCensus;
  let forger: ForgedTlsServer;
  let broker: Mosquitto;
  let hub: LocalHub;

  before(async () => {
    // A short keep-alive: the lin TCP socket only traces "write failed" when a write meets a reset connection and
    // reports nothing, so such a drop is found by the MQTT ping time-out.
    rig = await SimRig.start(DEVICE, "box", { firmwareVersion: "1.0.0", keepAliveSeconds: "5" });
    // mosquitto as the hub, under the local cloud's CA (the same server and service credentials the local cloud made).
    const ca = createCa(resolve(join(rig.dir, "pki")));
    const server = issueServer(ca, ["localhost", "127.0.0.1", DEFAULT_HUB_HOST, BOOTSTRAP_HOST]);
    const service = issueClient(ca, "local-hub");
    const brokerDir = join(rig.dir, "mosquitto");
    mkdirSync(brokerDir, { recursive: true });
    broker = await Mosquitto.start({ dir: brokerDir, caFile: ca.cert, certFile: server.cert, keyFile: server.key, services: ["local-hub"] });
    hub = new LocalHub({
      host: "127.0.0.1",
      port: broker.port,
      serverName: "localhost",
      ca: readFileSync(ca.cert),
      cert: readFileSync(service.cert),
      key: readFileSync(service.key),
      serviceId: "local-hub",
      deviceId: DEVICE,
      addressing: "shared",
    });
    await hub.start();
    census = await TlsHandshakeCensus.start(broker.port);
    rig.hubLink.targetPort = census.port;
    // A forger for the hub's name with a leaf under an intermediate that chains to the development root the build
    // trusts, for a client-auth-only leaf: "almost right", refused by the firmware's validator (not-server-auth).
    const chains = makeX509Chains({ names: [DEFAULT_HUB_HOST], leafKey: "rsa", root: { certFile: ca.cert, keyFile: ca.key } });
    const der = (name: string): Buffer => Buffer.from(chains.certificates[name]!, "hex");
    forger = await ForgedTlsServer.start({ name: "clientAuth leaf", certificates: [der("clientAuthLeaf"), der("ecInt")], keyPem: chains.leafKeyPem });
  });

  after(async () => {
    await rig?.dispose();
    await census?.close();
    await forger?.close();
    await hub?.stop();
    await broker?.stop();
  });

  it("resumes the hub session after the link drops; a forged hub after it is refused; a failure forgets the session", async () => {
    const s = await rig.powerOn();
    await s.waitFor(/boot phase phase=online/, 90_000);
    assert.deepEqual(census.kinds(), ["full"], "first connection: a full handshake");

    // The link drops (resets both ways); the device reconnects and offers its session.
    let from = s.lines.length;
    census.cutAll();
    await s.waitFor(/\[hub\] connected/, 60_000, from);
    assert.deepEqual(census.kinds(), ["full", "abbreviated"], `the reconnect resumed the session (no Certificate from the server): ${handshakeSummary(census)}\n${s.tail(30)}`);
    const [first, second] = census.handshakes;
    assert.equal(second!.offered, first!.chosen, "the device offered the first connection's session ID");

    // And once more: the session of the first full handshake is still the one resumed.
    from = s.lines.length;
    census.cutAll();
    await s.waitFor(/\[hub\] connected/, 60_000, from);
    assert.deepEqual(census.kinds().slice(2), ["abbreviated"]);

    // A forged server for the hub's name now: it cannot resume (it lacks the session's secret), so it must show its
    // certificate, and the firmware's validator refuses it before any MQTT byte.
    census.targetPort = forger.port;
    from = s.lines.length;
    census.cutAll();
    await s.waitFor(/warn +\[tls\] server certificate refused .*reason=not-server-auth\b/, 120_000, from);
    const forged = census.handshakes[3]!;
    assert.equal(forged.offered, first!.chosen, "the device offered its session to the forger");
    assert.notEqual(forged.chosen, forged.offered, "the forger could not resume it");
    assert.ok(forged.serverMessages.includes(11), "the forger had to present a certificate");
    for (const c of forger.shown("clientAuth leaf")) {
      assert.equal(c.received.length, 0, "no application byte to the forger");
      assert.equal(c.handshakeDone, false);
    }

    // The real hub again: the failed connection dropped the session, so this is a full handshake.
    census.targetPort = broker.port;
    const seen = census.handshakes.length;
    from = s.lines.length;
    await s.waitFor(/\[hub\] connected/, 120_000, from);
    const back = census.handshakes.slice(seen).filter((h) => kindOf(h) !== "incomplete");
    assert.equal(back.length, 1, "one completed handshake with the real hub");
    assert.equal(kindOf(back[0]!), "full", "after the refusal the device started afresh");
    assert.equal(back[0]!.offered, "", "and offered no session");
    await s.stop();
  });

  it("resumes against the local cloud's embedded broker too (npm start, the bench)", async () => {
    census.targetPort = rig.cloud.broker.port;
    const seen = census.handshakes.length;
    const s = await rig.powerOn();
    await s.waitFor(/boot phase phase=online/, 90_000);
    for (let cut = 0; cut < 2; cut++) {
      const from = s.lines.length;
      census.cutAll();
      await s.waitFor(/\[hub\] connected/, 120_000, from);
    }
    assert.deepEqual(census.kinds().slice(seen), ["full", "abbreviated", "abbreviated"], handshakeSummary(census));
    await s.stop();
  });
});

function handshakeSummary(census: TlsHandshakeCensus): string {
  return JSON.stringify(census.handshakes.map((h) => ({ offered: h.offered, chosen: h.chosen, server: h.serverMessages })));
}
