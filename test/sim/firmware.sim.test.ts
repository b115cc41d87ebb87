// The firmware as built for the device, run in the Moddable simulator (XS, the SDK's TLS, crypto, file and
// preference modules) against real peers on loopback: chronyd, and the local cloud (broker with client-certificate
// authentication, bootstrap service, blob storage, the hub's service side). Needs the Moddable SDK: run it with
// `npm run test:sim`, which checks the prerequisites and says what is missing. Not part of `npm test` (CI has no SDK).
import assert from "node:assert/strict";
import { generateKeyPairSync, randomBytes, X509Certificate, type KeyObject } from "node:crypto";
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { IncomingMessage, ServerResponse } from "node:http";
import { startLocalCloud, type LocalCloud } from "../../host/cli/local-cloud";
import { serveBlob } from "../../host/hub/local-blob-store";
import { signRelease } from "../../host/update/release-signer";
import { BOOTSTRAP_HOST, DEFAULT_HUB_HOST } from "../../src/bootstrap/bootstrap-contract";
import { Chrony } from "../integration/support/chrony";
import { TcpProxy } from "../integration/support/tcp-proxy";
import { tempDir, waitFor } from "../integration/support/processes";
import { McSim, buildSimulator, sdkPaths } from "./support/mcsim";

const DEVICE = "kisbox-sim-1"; // the lin build's config.deviceId
const BLOB = "kismefw.blob.core.windows.net";
const CHUNK = 4096; // OtaManager's default chunk
/** The simulator's state on lin: preferences and the file module's root (outbox, simulated partitions). */
const SIM_STATE = ["/tmp/modpreferences.json", "/tmp/ota", "/tmp/outbox"];

interface FirmwareReport {
  currentVersion?: string;
  targetVersion?: string | null;
  status?: string;
  lastError?: string | null;
}

describe("firmware in the Moddable simulator (mcsim)", function () {
  this.timeout(600_000);
  let dir: string;
  let cloud: LocalCloud;
  let chrony: Chrony;
  let hubLink: TcpProxy;
  let releaseKey: KeyObject;
  let sim: McSim | undefined;
  const backup = (): string => join(dir, "sim-state-backup");

  const firmware = (): FirmwareReport => (cloud.hub.reported.firmware ?? {}) as FirmwareReport;

  async function powerOn(): Promise<McSim> {
    await sim?.stop();
    sim = new McSim(sdkPaths().app("kisbox"));
    sim.start();
    return sim;
  }

  async function publish(version: string, bytes: number, key = releaseKey): Promise<Buffer> {
    const image = randomBytes(bytes);
    const url = cloud.blobs.put(`/fw/kisbox-${version}.bin`, image) + "?sv=2024-01-01&sig=x";
    await cloud.hub.updateDesired({ firmware: { ...signRelease(image, key, { version, url }) } });
    return image;
  }

  before(async () => {
    dir = tempDir("sim");
    cloud = await startLocalCloud(join(dir, "pki"), DEVICE);
    chrony = await Chrony.start();
    hubLink = await TcpProxy.start(cloud.broker.port);

    // The device's development credentials, embedded as resources (KISME_DEV_CREDENTIALS): DER, PKCS#8 key.
    const creds = join(dir, "creds");
    mkdirSync(creds);
    cpSync(cloud.device.certDer, join(creds, "device.der"));
    cpSync(cloud.device.keyDer, join(creds, "device.key.der"));
    writeFileSync(join(creds, "dev-ca.der"), new X509Certificate(cloud.caPem).raw);

    const pair = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
    releaseKey = pair.privateKey;
    const routes = [
      ...[0, 1, 2, 3].map((n) => `${n}.europe.pool.ntp.org:123/udp=127.0.0.1:${chrony.port}`),
      `${BOOTSTRAP_HOST}:443/tcp=127.0.0.1:${cloud.bootstrap.port}`,
      `${DEFAULT_HUB_HOST}:8883/tcp=127.0.0.1:${hubLink.port}`,
      `${BLOB}:443/tcp=127.0.0.1:${cloud.blobs.port}`,
    ].join(",");
    buildSimulator(
      {
        firmwareVersion: "1.0.0",
        releaseKey: pair.publicKey.export({ format: "der", type: "spki" }).toString("base64"),
        routes,
        simulatePressEverySeconds: "3",
        logLevel: "debug",
      },
      { KISME_DEV_CREDENTIALS: creds },
    );

    // A fresh simulated device; whatever was there is put back afterwards.
    mkdirSync(backup());
    for (const path of SIM_STATE) {
      if (!existsSync(path)) continue;
      cpSync(path, join(backup(), path.replace(/\//g, "_")), { recursive: true });
      rmSync(path, { recursive: true, force: true });
    }
  });

  after(async () => {
    await sim?.stop();
    await hubLink?.close();
    await cloud?.close();
    await chrony?.dispose();
    if (dir && existsSync(backup())) {
      for (const path of SIM_STATE) {
        rmSync(path, { recursive: true, force: true });
        const saved = join(backup(), path.replace(/\//g, "_"));
        if (existsSync(saved)) cpSync(saved, path, { recursive: true });
      }
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("boots through Wi-Fi, SNTP, bootstrap and mutual TLS to the hub, and delivers presses", async () => {
    const s = await powerOn();
    await s.waitFor(/clock valid \(SNTP\)/, 30_000);
    await s.waitFor(/hub assigned by bootstrap/, 30_000);
    await s.waitFor(/boot phase phase=online/, 30_000);
    await waitFor(() => cloud.hub.telemetry.some((t) => t.body.includes("Button_pressed")), "a Button_pressed event at the hub", 20_000);
    await waitFor(() => firmware().currentVersion === "1.0.0" && firmware().status === "idle", "firmware 1.0.0 idle reported", 10_000);
    assert.ok(cloud.bootstrap.requests.length >= 1, "the bootstrap service was asked");
  });

  it("keeps presses queued while the hub is unreachable through a power cycle, and delivers them with their ids", async () => {
    hubLink.refusing = true;
    hubLink.cutAll();
    const s = sim!;
    const from = s.lines.length;
    await s.waitFor(/\[hub\] connecting/, 30_000, from); // the link is down and being retried
    const queuedIds = async (): Promise<string[]> => {
      const at = await s.waitFor(/press button=1 state=queued id=\S+/, 30_000, from);
      const second = await s.waitFor(/press button=1 state=queued id=\S+/, 30_000, at + 1);
      return [at, second].map((i) => /id=(\S+)/.exec(s.lines[i]!)![1]!);
    };
    const ids = await queuedIds();
    for (const id of ids) assert.ok(!cloud.hub.telemetry.some((t) => t.messageId === id), `${id} not delivered before the power cycle`);
    await s.stop(); // power off with the events only in the outbox files
    hubLink.refusing = false;
    const n = await powerOn();
    await n.waitFor(/outbox opened .*queued=[1-9]/, 30_000);
    await waitFor(() => ids.every((id) => cloud.hub.telemetry.some((t) => t.messageId === id)), `${ids.join(", ")} delivered after the power cycle`, 30_000);
    for (const id of ids) {
      const event = cloud.hub.telemetry.find((t) => t.messageId === id)!;
      assert.match(event.body, /Button_pressed/);
      assert.ok(event.system["$.ctime"], "the event keeps its device time");
    }
  });

  it("updates: streamed, resumed with Range after a dropped connection, verified by the SDK's crypto, selected; confirmed after the restart", async () => {
    let dropped = false;
    cloud.blobs.behave = (req: IncomingMessage, res: ServerResponse, body: Buffer) => {
      if (dropped || req.headers.range) return serveBlob(req, res, body);
      dropped = true;
      res.writeHead(200, { "content-length": String(body.length) });
      res.write(body.subarray(0, 100_000), () => setTimeout(() => req.socket.destroy(), 200));
    };
    const s = sim!;
    const from = s.lines.length;
    const image = await publish("1.1.0", 300_000);
    await s.waitFor(/firmware update verified and selected; restarting version=1\.1\.0/, 60_000, from);
    assert.ok(s.has(/resuming firmware download offset=\d+/, from), "resumed");
    const [first, second] = cloud.blobs.served.filter((r) => r.url?.startsWith("/fw/kisbox-1.1.0.bin"));
    assert.equal(first?.range, undefined);
    const offset = Number(/^bytes=(\d+)-$/.exec(second?.range ?? "")?.[1]);
    assert.ok(offset <= 100_000 && 100_000 - offset < CHUNK, `resumed at ${offset}: less than one chunk fetched again`);
    assert.deepEqual(readFileSync("/tmp/ota/ota_1.bin"), image, "the simulated partition holds the image");

    const n = await powerOn();
    await n.waitFor(/simulated partitions .*running=ota_1 state=pendingVerify version=1\.1\.0/, 30_000);
    await n.waitFor(/new firmware confirmed version=1\.1\.0/, 60_000);
    await waitFor(() => firmware().currentVersion === "1.1.0" && firmware().status === "succeeded", "1.1.0 succeeded reported", 10_000);
  });

  it("a new image restarted before it reaches the hub is rolled back by the bootloader rule and reported", async () => {
    const s = sim!;
    const from = s.lines.length;
    await publish("1.2.0", 200_000);
    await s.waitFor(/firmware update verified and selected; restarting version=1\.2\.0/, 60_000, from);
    hubLink.refusing = true; // the hub is unreachable for the new image
    const p = await powerOn();
    await p.waitFor(/new firmware pending verification version=1\.2\.0/, 30_000);
    await p.waitFor(/connecting host=iotrafi/, 30_000);
    hubLink.refusing = false;
    const old = await powerOn(); // restarted unconfirmed
    await old.waitFor(/running again after a rollback version=1\.1\.0 failed=1\.2\.0/, 30_000);
    await waitFor(() => firmware().status === "rolledBack" && firmware().currentVersion === "1.1.0" && firmware().targetVersion === "1.2.0", "rolledBack reported", 30_000);
    assert.match(firmware().lastError ?? "", /not-confirmed/);
  });

  it("refuses a manifest signed with another key; the boot partition stays", async () => {
    const s = sim!;
    const from = s.lines.length;
    await publish("1.3.0", 50_000, generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey);
    await s.waitFor(/firmware update failed version=1\.3\.0 error="bad-signature/, 30_000, from);
    await waitFor(() => firmware().status === "failed" && /^bad-signature/.test(firmware().lastError ?? ""), "failed reported", 10_000);
    assert.ok(!cloud.blobs.served.some((r) => r.url?.startsWith("/fw/kisbox-1.3.0.bin")), "nothing downloaded");
  });
});
