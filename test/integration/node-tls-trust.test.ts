// The host's device connections run the firmware's certificate path validator after OpenSSL's own check, so the
// host simulation refuses what the device refuses. A name-constrained CA is the probe: OpenSSL processes name
// constraints and accepts the chain; the firmware's validator does not process them and refuses the critical
// extension — the refusal proves the second check runs.
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { createServer, type Server } from "node:tls";
import type { AddressInfo } from "node:net";
import { NodeStreamSocketPort } from "../../host/adapters/node-stream-socket";
import { HUB, makeX509Chains, type X509Chains } from "../fixtures/x509-chains";

const pem = (hex: string): string => new X509Certificate(Buffer.from(hex, "hex")).toString();

describe("host TLS: OpenSSL's check, then the firmware's validator", () => {
  let chains: X509Chains;
  let server: Server | undefined;

  before(() => {
    chains = makeX509Chains();
  });

  afterEach(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  });

  async function serve(names: readonly string[]): Promise<number> {
    server = createServer({ cert: names.map((n) => pem(chains.certificates[n]!)).join(""), key: chains.leafKeyPem }, (socket) => socket.end());
    server.on("tlsClientError", () => {});
    await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", () => resolve()));
    return (server.address() as AddressInfo).port;
  }

  function connect(port: number): Promise<{ connected: boolean; reason: string }> {
    return new Promise((resolve) => {
      let connected = false;
      const socket = new NodeStreamSocketPort({ lingerMs: 100 }).connect(
        { host: "127.0.0.1", port, tls: { serverName: HUB, ca: [new TextEncoder().encode(pem(chains.certificates.ecRoot!))] } },
        {
          onConnect: () => {
            connected = true;
            socket.close();
          },
          onData: () => {},
          onClose: (reason) => resolve({ connected, reason }),
        },
      );
    });
  }

  it("connects with a good chain", async () => {
    const result = await connect(await serve(["ecLeaf", "ecInt"]));
    assert.equal(result.connected, true, result.reason);
  });

  it("refuses a chain OpenSSL accepts but the device would refuse, with the device's reason", async () => {
    const result = await connect(await serve(["leafUnderNameConstrained", "nameConstrainedCa"]));
    assert.equal(result.connected, false);
    assert.match(result.reason, /^certificate refused: unknown-critical-extension at 1: /);
  });

  it("still refuses what OpenSSL refuses (self-signed + the trusted root)", async () => {
    const result = await connect(await serve(["selfSigned", "ecRoot"]));
    assert.equal(result.connected, false);
    assert.match(result.reason, /self.signed|unable to verify|certificate/i);
  });
});
