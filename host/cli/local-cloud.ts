import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { BOOTSTRAP_HOST, DEFAULT_HUB_HOST } from "../../src/bootstrap/bootstrap-contract";
import { createCa, issueClient, issueServer, type Credential } from "../pki/dev-pki";
import { EmbeddedBroker } from "../hub/embedded-broker";
import { LocalBootstrap } from "../hub/local-bootstrap";
import { LocalHub } from "../hub/local-hub";
import { BLOB_HOST, LocalBlobStore } from "../hub/local-blob-store";

/**
 * The cloud side of a local run, all in this process: a TLS broker that authenticates devices by
 * certificate, the hub's service side, the bootstrap service, and blob storage for firmware images. Its certificates name the real cloud
 * hosts, so the device checks them exactly as in the field (routes map the names to loopback).
 */
export interface LocalCloud {
  readonly caPem: Buffer;
  readonly device: Credential;
  readonly broker: EmbeddedBroker;
  readonly hub: LocalHub;
  readonly bootstrap: LocalBootstrap;
  readonly blobs: LocalBlobStore;
  close(): Promise<void>;
}

export async function startLocalCloud(dir: string, deviceId: string): Promise<LocalCloud> {
  const ca = createCa(resolve(dir));
  const server = issueServer(ca, ["localhost", "127.0.0.1", DEFAULT_HUB_HOST, BOOTSTRAP_HOST]);
  const device = issueClient(ca, deviceId);
  const blobServer = issueServer(ca, [BLOB_HOST]);
  const service = issueClient(ca, "local-hub");
  const caPem = readFileSync(ca.cert);
  // Servers send their chain, as the real services do (the device never fetches missing intermediates).
  const serverCert = Buffer.concat([readFileSync(server.cert), caPem]);
  const serverKey = readFileSync(server.key);
  const broker = await EmbeddedBroker.start({ ca: caPem, cert: serverCert, key: serverKey, serviceIdentities: ["local-hub"] });
  const hub = new LocalHub({
    host: "127.0.0.1",
    port: broker.port,
    serverName: "localhost",
    ca: caPem,
    cert: readFileSync(service.cert),
    key: readFileSync(service.key),
    serviceId: "local-hub",
    deviceId,
    addressing: "device-scoped", // the embedded broker scopes $iothub traffic per device
  });
  await hub.start();
  const bootstrap = await LocalBootstrap.start({ ca: caPem, cert: serverCert, key: serverKey, hubHostName: DEFAULT_HUB_HOST });
  const blobs = await new LocalBlobStore({ cert: Buffer.concat([readFileSync(blobServer.cert), caPem]), key: readFileSync(blobServer.key) }).listen();
  return {
    caPem,
    device,
    broker,
    hub,
    bootstrap,
    blobs,
    close: async () => {
      await hub.stop();
      await bootstrap.close();
      await blobs.close();
      await broker.close();
    },
  };
}
