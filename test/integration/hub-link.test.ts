import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import type { CloudMessage } from "../../src/azure/cloud-messages";
import type { DesiredUpdate } from "../../src/azure/twin";
import type { LocalHub } from "../../host/hub/local-hub";
import { Mosquitto } from "./support/mosquitto";
import { TcpProxy } from "./support/tcp-proxy";
import { sendThroughOutages } from "./support/outage-run";
import { sleep, waitFor } from "./support/processes";
import { TestPki, testDevice, type TestDevice } from "./support/fixture";

const DEVICE = "box-it-1";

describe("IoT Hub link against mosquitto (TLS, client certificates, per-device ACL)", function () {
  this.timeout(60_000);
  let pki: TestPki;
  let broker: Mosquitto;
  let hub: LocalHub;
  let device: TestDevice | undefined;

  before(async () => {
    pki = new TestPki();
    ({ broker, hub } = await pki.mosquittoHub(DEVICE));
  });

  afterEach(async function () {
    device?.stop();
    device = undefined;
    if (this.currentTest?.state === "failed") {
      process.stdout.write(`--- mosquitto log ---\n${broker.log}\n`);
    }
    await sleep(50);
  });

  after(async () => {
    await hub?.stop();
    await broker?.stop();
  });

  it("delivers telemetry on the exact topic with the exact property bag, confirmed by PUBACK", async () => {
    device = testDevice(pki, DEVICE, broker.port);
    const delivered: string[] = [];
    device.hub.outbox.onEvent((e) => e.type === "delivered" && delivered.push(e.record.id));
    device.start();
    await device.waitConnected();
    const press = device.box.press(2);
    const custom = device.hub.sendTelemetry({ note: "x" }, { "Straße & Tor": "grün/blau=1" });
    await waitFor(() => hub.telemetry.length >= 2, "two telemetry messages");
    const [a, b] = hub.telemetry.slice(-2);
    assert.equal(a!.topic, `devices/${DEVICE}/messages/events/$.mid=${press.id}&$.ct=application%2Fjson&$.ce=utf-8&event=Button_pressed`);
    assert.deepEqual(JSON.parse(a!.body).Button_pressed.button, 2);
    const ts = Date.parse(JSON.parse(a!.body).Button_pressed.ts);
    assert.ok(Math.abs(ts - press.createdAt) <= 50, "the device time of the press, in the body");
    assert.equal(a!.properties["event"], "Button_pressed");
    assert.equal(b!.topic, `devices/${DEVICE}/messages/events/$.mid=${custom.id}&$.ct=application%2Fjson&$.ce=utf-8&Stra%C3%9Fe%20%26%20Tor=gr%C3%BCn%2Fblau%3D1`);
    assert.deepEqual(b!.properties, { "Straße & Tor": "grün/blau=1" });
    await waitFor(() => delivered.includes(press.id) && delivered.includes(custom.id), "PUBACK for both");
    assert.deepEqual(delivered.filter((id) => id === press.id || id === custom.id), [press.id, custom.id]);
    assert.equal(device.hub.outbox.depth, 0);
  });

  it("receives cloud-to-device messages, including those queued while it was offline", async () => {
    device = testDevice(pki, DEVICE, broker.port);
    const got: CloudMessage[] = [];
    device.hub.onCloudMessage((m) => got.push(m));
    device.start();
    await device.waitConnected();
    const id1 = await hub.sendCloudMessage('{"hello":1}', { kind: "greeting", "ä b": "c&d" });
    await waitFor(() => got.length === 1, "the first C2D message");
    assert.equal(got[0]!.messageId, id1);
    assert.deepEqual(got[0]!.properties, { kind: "greeting", "ä b": "c&d" });
    assert.equal(Buffer.from(got[0]!.payload).toString(), '{"hello":1}');

    device.stop();
    await sleep(200);
    const id2 = await hub.sendCloudMessage("while away");
    device = testDevice(pki, DEVICE, broker.port);
    const later: CloudMessage[] = [];
    device.hub.onCloudMessage((m) => later.push(m));
    device.start();
    await waitFor(() => later.length === 1, "the C2D message queued for the offline device (clean session off)");
    assert.equal(later[0]!.messageId, id2);
  });

  it("reports properties, receives desired patches, and catches up with a full twin GET after reconnecting", async () => {
    device = testDevice(pki, DEVICE, broker.port);
    const updates: DesiredUpdate[] = [];
    device.hub.twin.onDesired((u) => updates.push(u));
    device.start();
    await device.waitConnected();
    await waitFor(() => updates.length === 1 && updates[0]!.full, "the desired properties of the first GET");
    const version = await device.hub.twin.report({ firmware: { version: "0.1.0" }, rssi: -61 });
    assert.equal(version, hub.reported["$version"]);
    assert.deepEqual(hub.reported["firmware"], { version: "0.1.0" });

    const v = await hub.updateDesired({ brightness: 70 });
    await waitFor(() => updates.some((u) => u.version === v), "the desired patch");
    assert.deepEqual(updates[updates.length - 1], { properties: { brightness: 70 }, version: v, full: false });

    device.stop();
    await sleep(200);
    const v2 = await hub.updateDesired({ brightness: 20 }); // sent while the device is away: not delivered
    device = testDevice(pki, DEVICE, broker.port);
    const after: DesiredUpdate[] = [];
    device.hub.twin.onDesired((u) => after.push(u));
    device.start();
    await waitFor(() => after.length > 0, "desired properties after reconnecting");
    assert.equal(after[0]!.full, true);
    assert.equal(after[0]!.version, v2);
    assert.equal(after[0]!.properties["brightness"], 20);
  });

  it("answers direct methods: 200 and the LED changes, 404, 400 for malformed JSON and for bad arguments", async () => {
    device = testDevice(pki, DEVICE, broker.port);
    device.start();
    await device.waitConnected();
    const ok = await hub.invokeMethod("setColor", { button: 2, color: "green" });
    assert.deepEqual(ok, { status: 200, payload: { buttons: [2], color: "green" } });
    assert.equal(device.leds.get(2), "green");
    assert.equal((await hub.invokeMethod("selfDestruct", {})).status, 404);
    const malformed = await hub.invokeMethodRaw("setColor", "{color:");
    assert.equal(malformed.status, 400);
    const bad = await hub.invokeMethod("setColor", { button: 9, color: "green" });
    assert.equal(bad.status, 400);
    assert.match(JSON.stringify(bad.payload), /button must be 1\.\.3/);
    await waitFor(() => hub.telemetry.some((t) => t.properties["event"] === "Set_Color_green"), "the Set_Color_green event");
  });

  it("loses no telemetry while the link is cut and the broker restarts (200 messages)", async function () {
    this.timeout(120_000);
    const proxy = await TcpProxy.start(broker.port);
    try {
      device = testDevice(pki, DEVICE, proxy.port);
      device.start();
      await device.waitConnected();
      await sendThroughOutages({ hub, device: device.hub, proxy, broker });
    } finally {
      await proxy.close();
    }
  });
});

/** The TLS authentication cases against mosquitto (require_certificate), for the host device: the firmware's own MQTT client over node:tls. */
describe("TLS authentication against mosquitto", function () {
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

  /** What one case changes: the trusted roots, the certificate and key, or a hub name the server certificate does not name. */
  async function attempt(id: string, variant: { ca?: Buffer[]; cert?: Buffer; key?: Buffer; hubHost?: string } = {}): Promise<string> {
    const d = testDevice(pki, id, broker.port, {
      ...(variant.ca ? { ca: variant.ca } : {}),
      ...(variant.cert && variant.key ? { cert: variant.cert, key: variant.key } : {}),
      // The other name is allowed for this run, but not in the server certificate.
      ...(variant.hubHost ? { defaultHub: variant.hubHost, extraEgress: [{ host: variant.hubHost, port: 8883, transport: "tcp", purpose: "test" }] } : {}),
    });
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
