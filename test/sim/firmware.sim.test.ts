// The firmware as built for the device, run in the Moddable simulator (XS, the SDK's TLS, crypto, file and
// preference modules) against real peers on loopback: chronyd, and the local cloud (broker with client-certificate
// authentication, bootstrap service, blob storage, the hub's service side). Needs the Moddable SDK: run it with
// `npm run test:sim`, which checks the prerequisites and says what is missing. Not part of `npm test` (CI has no SDK).
import assert from "node:assert/strict";
import { generateKeyPairSync, randomBytes, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { serveBlob } from "../../host/hub/local-blob-store";
import { signRelease } from "../../host/update/release-signer";
import type { LocalCloud } from "../../host/cli/local-cloud";
import { waitFor } from "../integration/support/processes";
import type { McSim } from "./support/mcsim";
import { SimRig } from "./support/sim-rig";

const CHUNK = 4096; // OtaManager's default chunk

interface FirmwareReport {
  currentVersion?: string;
  targetVersion?: string | null;
  status?: string;
  lastError?: string | null;
}

describe("KIS.BOX firmware in the Moddable simulator (mcsim)", function () {
  this.timeout(600_000);
  let rig: SimRig;
  let cloud: LocalCloud;
  let releaseKey: KeyObject;
  const sim = (): McSim => rig.sim!;
  const powerOn = (): Promise<McSim> => rig.powerOn();
  const firmware = (): FirmwareReport => (cloud.hub.reported.firmware ?? {}) as FirmwareReport;

  async function publish(version: string, bytes: number, key = releaseKey): Promise<Buffer> {
    const image = randomBytes(bytes);
    const url = cloud.blobs.put(`/fw/kisbox-${version}.bin`, image) + "?sv=2024-01-01&sig=x";
    await cloud.hub.updateDesired({ firmware: { ...signRelease(image, key, { product: "box", version, url }) } });
    return image;
  }

  before(async () => {
    rig = await SimRig.start("kisbox-sim-1", "box", { firmwareVersion: "1.0.0", simulatePressEverySeconds: "3" });
    cloud = rig.cloud;
    releaseKey = rig.releaseKey;
  });

  after(async () => {
    await rig?.dispose();
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
    rig.hubLink.refusing = true;
    rig.hubLink.cutAll();
    const s = sim();
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
    rig.hubLink.refusing = false;
    const n = await powerOn();
    await n.waitFor(/outbox opened .*queued=[1-9]/, 30_000);
    await waitFor(() => ids.every((id) => cloud.hub.telemetry.some((t) => t.messageId === id)), `${ids.join(", ")} delivered after the power cycle`, 30_000);
    for (const id of ids) {
      const event = cloud.hub.telemetry.find((t) => t.messageId === id)!;
      assert.match(event.body, /Button_pressed/);
      assert.ok(Number.isFinite(Date.parse(JSON.parse(event.body).Button_pressed.ts)), "the event keeps its device time (the body's ts)");
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
    const s = sim();
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
    const s = sim();
    const from = s.lines.length;
    await publish("1.2.0", 200_000);
    await s.waitFor(/firmware update verified and selected; restarting version=1\.2\.0/, 60_000, from);
    rig.hubLink.refusing = true; // the hub is unreachable for the new image
    const p = await powerOn();
    await p.waitFor(/new firmware pending verification version=1\.2\.0/, 30_000);
    await p.waitFor(/connecting host=iotrafi/, 30_000);
    rig.hubLink.refusing = false;
    const old = await powerOn(); // restarted unconfirmed
    await old.waitFor(/running again after a rollback version=1\.1\.0 failed=1\.2\.0/, 30_000);
    await waitFor(() => firmware().status === "rolledBack" && firmware().currentVersion === "1.1.0" && firmware().targetVersion === "1.2.0", "rolledBack reported", 30_000);
    assert.match(firmware().lastError ?? "", /not-confirmed/);
  });

  it("refuses a manifest signed with another key; the boot partition stays", async () => {
    const s = sim();
    const from = s.lines.length;
    await publish("1.3.0", 50_000, generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey);
    await s.waitFor(/firmware update failed version=1\.3\.0 error="bad-signature/, 30_000, from);
    await waitFor(() => firmware().status === "failed" && /^bad-signature/.test(firmware().lastError ?? ""), "failed reported", 10_000);
    assert.ok(!cloud.blobs.served.some((r) => r.url?.startsWith("/fw/kisbox-1.3.0.bin")), "nothing downloaded");
  });
});

describe("KIS.LIGHT firmware in the Moddable simulator (mcsim)", function () {
  this.timeout(600_000);
  let rig: SimRig;

  before(async () => {
    rig = await SimRig.start("kislight-sim-1", "light");
  });

  after(async () => {
    await rig?.dispose();
  });

  it("comes online and switches a segment when the cloud calls setColor; a bad command is refused with 400", async () => {
    const s = await rig.powerOn();
    await s.waitFor(/boot phase phase=online/, 60_000);
    const from = s.lines.length;
    const ok = await rig.cloud.hub.invokeMethod("setColor", { segment: 1, color: "red", pattern: "blink" });
    assert.equal(ok.status, 200, JSON.stringify(ok.payload));
    await s.waitFor(/^LED 0 blink red/, 10_000, from); // segment 1 is LED 0 (trace LEDs in the simulator)
    await waitFor(() => rig.cloud.hub.telemetry.some((t) => t.body.includes("Set_Color_red")), "Set_Color_red at the hub", 10_000);
    const bad = await rig.cloud.hub.invokeMethod("setColor", { segment: 9, color: "purple" });
    assert.equal(bad.status, 400, JSON.stringify(bad.payload));
  });
});
