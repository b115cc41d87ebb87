import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Mosquitto } from "./mosquitto";
import { waitFor } from "./processes";
import { TestPki } from "./fixture";

/** What one TLS case changes about a device: its trusted roots, its certificate and key, the hub name it uses. */
export interface AuthVariant {
  readonly ca?: Buffer[];
  readonly cert?: Buffer;
  readonly key?: Buffer;
  /** A hub name the server certificate does not name (allowed by the device for this run). */
  readonly hubHost?: string;
}

export interface AuthDevice {
  start(): void;
  stop(): void;
  readonly hub: { readonly status: { readonly state: string; readonly lastError?: string | undefined } };
}

/**
 * The TLS authentication cases against mosquitto (require_certificate), for any device build: the MQTT.js host
 * adapter and the portable client run the same cases. `device` builds a device for the broker's port.
 */
export function tlsAuthenticationSuite(title: string, device: (pki: TestPki, id: string, port: number, variant: AuthVariant) => AuthDevice): void {
  describe(title, function () {
    this.timeout(30_000);
    let pki: TestPki;
    let other: TestPki;
    let broker: Mosquitto;

    before(async () => {
      pki = new TestPki();
      other = new TestPki();
      broker = await Mosquitto.start({ dir: pki.dir, caFile: pki.ca.cert, certFile: pki.server.cert, keyFile: pki.server.key, services: [] });
    });
    after(async () => broker?.stop());

    async function attempt(id: string, variant: AuthVariant = {}): Promise<string> {
      const d = device(pki, id, broker.port, variant);
      d.start();
      try {
        await waitFor(() => d.hub.status.lastError !== undefined || d.hub.status.state === "connected", "a connection outcome");
        const outcome = d.hub.status.state === "connected" ? "connected" : d.hub.status.lastError!;
        process.stdout.write(`      outcome: ${outcome}\n`);
        return outcome;
      } finally {
        d.stop();
      }
    }

    it("connects with the right CA, host name and device certificate", async () => {
      assert.equal(await attempt("tls-ok"), "connected");
    });

    it("rejects a server certificate from another CA", async () => {
      assert.match(await attempt("tls-a", { ca: [other.caPem] }), /self[- ]signed|unable to (get|verify)|certificate/i);
    });

    it("rejects a server certificate for another host name", async () => {
      assert.match(await attempt("tls-b", { hubHost: "other-hub.azure-devices.net" }), /altnames|does not match|hostname/i);
    });

    it("is refused by the broker with a device certificate from another CA", async () => {
      const cred = other.device("tls-c");
      const error = await attempt("tls-c", { cert: readFileSync(cred.cert), key: readFileSync(cred.key) });
      assert.notEqual(error, "connected");
      assert.match(error, /certificate|alert|closed|ECONNRESET|socket/i);
    });
  });
}
