// TLS session resumption on the host device's MQTT link (NodeStreamSocketPort), against mosquitto with TLS and
// required client certificates: a reconnect resumes the session of the previous connection (also after the link
// was cut by resets), a session is never offered for another client identity, a server that is not the one that
// made the session gets a full handshake and is refused as before, and a chain the firmware's validator refuses
// leaves no session behind.
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { connect as tlsConnect, createServer, type Server } from "node:tls";
import { constants } from "node:crypto";
import { EmbeddedBroker } from "../../host/hub/embedded-broker";
import { NodeStreamSocketPort } from "../../host/adapters/node-stream-socket";
import { HUB, makeX509Chains } from "../fixtures/x509-chains";
import { Mosquitto } from "./support/mosquitto";
import { HUB_HOST, TestPki } from "./support/fixture";
import { kindOf, offersTicket, TlsHandshakeCensus } from "./support/tls-handshake-census";

interface Outcome {
  readonly connected: boolean;
  readonly resumed: boolean;
  /** The first bytes the server answered (CONNACK: 20 02 00 00). */
  readonly answer: Buffer;
  readonly reason: string;
}

/** MQTT 3.1.1 CONNECT, clean session, client id `id` (mosquitto takes the user name from the certificate). */
function mqttConnect(id: string): Uint8Array {
  const idBytes = Buffer.from(id);
  const variable = Buffer.from([0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0x02, 0, 30]);
  const payload = Buffer.concat([Buffer.from([idBytes.length >> 8, idBytes.length & 0xff]), idBytes]);
  return Buffer.concat([Buffer.from([0x10, variable.length + payload.length]), variable, payload]);
}

describe("host TLS session resumption (NodeStreamSocketPort against mosquitto)", function () {
  this.timeout(60_000);
  let pki: TestPki;
  let broker: Mosquitto;
  let census: TlsHandshakeCensus;

  before(async () => {
    pki = new TestPki();
    broker = await Mosquitto.start({ dir: pki.dir, caFile: pki.ca.cert, certFile: pki.server.cert, keyFile: pki.server.key, services: [] });
    census = await TlsHandshakeCensus.start(broker.port);
  });

  after(async () => {
    await census?.close();
    await broker?.stop();
  });

  beforeEach(() => {
    census.targetPort = broker.port;
    census.handshakes.length = 0;
  });

  /**
   * One connection through the census as device `device`: TLS, MQTT CONNECT, wait for the CONNACK (by then the
   * TLS 1.3 tickets have arrived), then `end`: "close" (DISCONNECT + close) or "cut" (the census resets the link).
   */
  function session(port: NodeStreamSocketPort, device: string, end: "close" | "cut" = "close"): Promise<Outcome> {
    const cred = pki.device(device);
    return new Promise((resolve) => {
      let connected = false;
      let resumed = false;
      let answer = Buffer.alloc(0);
      const socket = port.connect(
        { host: "127.0.0.1", port: census.port, tls: { serverName: HUB_HOST, ca: [pki.caPem], certificate: readFileSync(cred.cert), key: readFileSync(cred.key) } },
        {
          onConnect: () => {
            connected = true;
            resumed = socket.sessionReused;
            socket.write(mqttConnect(device));
          },
          onData: (bytes) => {
            answer = Buffer.concat([answer, bytes]);
            if (answer.length < 4) return;
            if (end === "cut") census.cutAll();
            else {
              socket.write(Buffer.from([0xe0, 0]));
              socket.close();
            }
          },
          onClose: (reason) => resolve({ connected, resumed, answer, reason }),
        },
      );
    });
  }

  const CONNACK_OK = Buffer.from([0x20, 2, 0, 0]);

  it("resumes on reconnect, also after the link was cut, and mosquitto accepts the resumed device", async () => {
    const port = new NodeStreamSocketPort({ lingerMs: 200 });
    const first = await session(port, "res-a", "cut");
    assert.ok(first.connected && !first.resumed, `first: full handshake (${first.reason})`);
    assert.deepEqual(first.answer.subarray(0, 4), CONNACK_OK);
    const second = await session(port, "res-a");
    assert.equal(second.resumed, true, "the reconnect after the cut resumed the session");
    assert.deepEqual(second.answer.subarray(0, 4), CONNACK_OK, "CONNACK accepted on the resumed session");
    const third = await session(port, "res-a");
    assert.equal(third.resumed, true, "and the next one (a ticket from the resumed connection)");
    assert.deepEqual(census.handshakes.map(offersTicket), [false, true, true], "the client offered a ticket only on reconnects");
  });

  it("never offers one identity's session for another client certificate", async () => {
    const port = new NodeStreamSocketPort({ lingerMs: 200 });
    await session(port, "res-a");
    const other = await session(port, "res-b");
    assert.equal(other.connected, true, other.reason);
    assert.equal(other.resumed, false);
    assert.equal(offersTicket(census.handshakes[1]!), false, "device b's ClientHello carried no ticket of device a's");
    assert.deepEqual(other.answer.subarray(0, 4), CONNACK_OK);
    const back = await session(port, "res-a");
    assert.equal(back.resumed, true, "device a's own session is still there for device a");
  });

  it("a forged server after a good session gets no resumption, is refused, and the session is forgotten", async () => {
    const port = new NodeStreamSocketPort({ lingerMs: 200 });
    await session(port, "res-a");
    const chains = makeX509Chains({ names: [HUB_HOST] }); // the hub's name, under a CA the device does not trust
    const forged = await tlsServer(chains.certificates.ecLeaf!, chains.certificates.ecInt!, chains.leafKeyPem);
    try {
      census.targetPort = (forged.address() as AddressInfo).port;
      const refused = await session(port, "res-a");
      assert.equal(refused.connected, false, "the forged server was refused");
      assert.equal(refused.resumed, false);
      assert.match(refused.reason, /certificate|issuer/i);
      assert.equal(offersTicket(census.handshakes[1]!), true, "the device did offer its session: the forger could not use it");
    } finally {
      await new Promise<void>((resolve) => forged.close(() => resolve()));
    }
    census.targetPort = broker.port;
    const after = await session(port, "res-a");
    assert.equal(after.connected, true, after.reason);
    assert.equal(after.resumed, false, "the failure dropped the session: a full handshake with the real hub");
    assert.equal(offersTicket(census.handshakes[2]!), false);
  });

  // Node itself holds a TLS 1.2 session back until the connection is verified; this guards the adapter's own rule
  // (sessions only from accepted chains) against a change on either side.
  it("keeps no session from a chain the firmware's validator refused (TLS 1.2 session and ticket during the handshake)", async () => {
    const chains = makeX509Chains();
    const pem = (name: string): string => new X509Certificate(Buffer.from(chains.certificates[name]!, "hex")).toString();
    // OpenSSL accepts this chain (it processes name constraints); the firmware's validator refuses the critical extension.
    const refusedServer = createServer({ cert: pem("leafUnderNameConstrained") + pem("nameConstrainedCa"), key: chains.leafKeyPem, maxVersion: "TLSv1.2" }, (s) => s.end());
    const goodServer = createServer({ cert: pem("ecLeaf") + pem("ecInt"), key: chains.leafKeyPem, maxVersion: "TLSv1.2" }, (s) => s.end());
    try {
      for (const s of [refusedServer, goodServer]) {
        s.on("tlsClientError", () => {});
        await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", () => resolve()));
      }
      const port = new NodeStreamSocketPort({ lingerMs: 200 });
      const ca = [new TextEncoder().encode(pem("ecRoot"))];
      const connectTo = (server: Server): Promise<{ connected: boolean; resumed: boolean; reason: string }> =>
        new Promise((resolve) => {
          census.targetPort = (server.address() as AddressInfo).port;
          let connected = false;
          let resumed = false;
          const socket = port.connect(
            { host: "127.0.0.1", port: census.port, tls: { serverName: HUB, ca } },
            {
              onConnect: () => {
                connected = true;
                resumed = socket.sessionReused;
              },
              onData: () => {},
              onClose: (reason) => resolve({ connected, resumed, reason }),
            },
          );
        });
      const refused = await connectTo(refusedServer);
      assert.equal(refused.connected, false);
      assert.match(refused.reason, /^certificate refused: unknown-critical-extension/);
      const again = await connectTo(refusedServer);
      assert.equal(again.connected, false);
      assert.equal(offersTicket(census.handshakes[1]!), false, "no ticket offered after the refusal");
      assert.ok(census.handshakes[1]!.serverMessages.includes(11), "the server had to show its certificate again (no session-ID resumption)");
      // The same port with a good TLS 1.2 server: stored, then resumed.
      assert.equal((await connectTo(goodServer)).resumed, false);
      assert.equal((await connectTo(goodServer)).resumed, true, "TLS 1.2 resumption from a good chain");
    } finally {
      for (const s of [refusedServer, goodServer]) await new Promise<void>((resolve) => s.close(() => resolve()));
    }
  });
});

async function tlsServer(leafHex: string, intermediateHex: string, keyPem: string): Promise<Server> {
  const pem = (hex: string): string => new X509Certificate(Buffer.from(hex, "hex")).toString();
  const server = createServer({ cert: pem(leafHex) + pem(intermediateHex), key: keyPem }, (s) => s.end());
  server.on("tlsClientError", () => {});
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return server;
}

// The device build's TLS client resumes by TLS 1.2 session ID only; the local cloud's broker keeps such sessions.
describe("the local cloud's embedded broker resumes TLS 1.2 sessions by ID (as the device build's client needs)", function () {
  this.timeout(60_000);
  let pki: TestPki;
  let broker: EmbeddedBroker;
  let census: TlsHandshakeCensus;

  before(async () => {
    pki = new TestPki();
    broker = await EmbeddedBroker.start({ ca: pki.caPem, cert: readFileSync(pki.server.cert), key: readFileSync(pki.server.key), serviceIdentities: ["local-hub"] });
    census = await TlsHandshakeCensus.start(broker.port);
  });

  after(async () => {
    await census?.close();
    await broker?.close();
  });

  /** TLS 1.2 without tickets (session IDs only, as the SDK's client), MQTT CONNECT as `device`, CONNACK, then a cut. */
  function connectAs(device: string, session: Buffer | undefined): Promise<{ session: Buffer | undefined; connack: Buffer }> {
    const cred = pki.device(device);
    return new Promise((resolve, reject) => {
      let connack = Buffer.alloc(0);
      let kept: Buffer | undefined;
      const socket = tlsConnect({
        host: "127.0.0.1",
        port: census.port,
        servername: HUB_HOST,
        ca: pki.caPem,
        cert: readFileSync(cred.cert),
        key: readFileSync(cred.key),
        maxVersion: "TLSv1.2",
        secureOptions: constants.SSL_OP_NO_TICKET,
        ...(session ? { session } : {}),
      });
      socket.once("secureConnect", () => {
        kept = socket.getSession();
        socket.write(mqttConnect(device));
      });
      socket.on("data", (data: Buffer) => {
        connack = Buffer.concat([connack, data]);
        if (connack.length >= 4) census.cutAll();
      });
      socket.on("error", () => undefined);
      socket.on("close", () => (connack.length >= 4 ? resolve({ session: kept, connack }) : reject(new Error("no CONNACK"))));
    });
  }

  it("a reconnect after a cut is an abbreviated handshake, and the broker still knows the device by its certificate", async () => {
    const first = await connectAs("res-c", undefined);
    assert.deepEqual(first.connack.subarray(0, 4), Buffer.from([0x20, 2, 0, 0]));
    const second = await connectAs("res-c", first.session);
    assert.deepEqual(census.kinds(), ["full", "abbreviated"], "the second handshake resumed the session (no Certificate)");
    assert.equal(census.handshakes[1]!.offered, census.handshakes[0]!.chosen);
    assert.deepEqual(second.connack.subarray(0, 4), Buffer.from([0x20, 2, 0, 0]), "CONNACK accepted: the identity came with the session");
    assert.equal(kindOf(census.handshakes[1]!), "abbreviated");
  });
});
