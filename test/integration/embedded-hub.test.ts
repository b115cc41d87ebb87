import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import mqtt from "mqtt";
import { EmbeddedBroker } from "../../host/hub/embedded-broker";
import type { LocalHub } from "../../host/hub/local-hub";
import { tempDir, waitFor } from "./support/processes";
import { withStartCli } from "./support/start-cli";
import { TestPki, testDevice, type TestDevice } from "./support/fixture";

describe("embedded local hub (npm start's broker: aedes with TLS client certificates)", function () {
  this.timeout(30_000);
  let pki: TestPki;
  let broker: EmbeddedBroker;
  let hub: LocalHub;
  let device: TestDevice | undefined;

  before(async () => {
    pki = new TestPki();
    broker = await EmbeddedBroker.start({
      ca: pki.caPem,
      cert: readFileSync(pki.server.cert),
      key: readFileSync(pki.server.key),
      serviceIdentities: ["local-hub"],
    });
    hub = pki.hub(broker.port, "box-emb-1", "device-scoped");
    await hub.start();
  });

  afterEach(() => {
    device?.stop();
    device = undefined;
  });

  after(async () => {
    await hub?.stop();
    await broker?.close();
  });

  it("carries the whole device link: telemetry with PUBACK, twin, and a setColor method", async () => {
    device = testDevice(pki, "box-emb-1", broker.port);
    device.start();
    await device.waitConnected();
    const rec = device.box.press(1);
    await waitFor(() => hub.telemetry.some((t) => t.messageId === rec.id), "the press at the hub");
    await waitFor(() => device!.hub.outbox.depth === 0, "PUBACK");
    assert.equal(await device.hub.twin.report({ hello: "world" }), hub.reported["$version"]);
    const r = await hub.invokeMethod("setColor", { color: "blue" });
    assert.equal(r.status, 200);
    assert.deepEqual([1, 2, 3].map((b) => device!.box.color(b)), ["blue", "blue", "blue"]);
    // Button 1 may still show its delivery feedback; then it returns to the cloud's colour.
    await waitFor(() => [1, 2, 3].every((b) => device!.leds.get(b) === "blue"), "all LEDs blue");
  });

  function rawClient(certId: string, clientId: string): mqtt.MqttClient {
    const cred = pki.device(certId);
    return mqtt.connect({
      protocol: "mqtts",
      host: "127.0.0.1",
      port: broker.port,
      servername: "localhost",
      ca: pki.caPem,
      cert: readFileSync(cred.cert),
      key: readFileSync(cred.key),
      clientId,
      reconnectPeriod: 0,
    });
  }

  it("refuses a client whose client id is not its certificate's CN", async () => {
    const client = rawClient("box-emb-2", "box-emb-1");
    const error = await new Promise<Error>((resolve) => client.once("error", resolve));
    client.end(true);
    assert.match(error.message, /Not authorized|refused/i);
  });

  it("refuses a device's subscription to another device's topics", async () => {
    const client = rawClient("box-emb-3", "box-emb-3");
    await new Promise((resolve) => client.once("connect", resolve));
    // MQTT.js rejects a SUBACK with 0x80 and carries the packet on the error.
    const granted = await client.subscribeAsync("devices/box-emb-1/#", { qos: 1 }).then(
      (g) => g.map((x) => x.qos),
      (error: { packet?: { granted?: number[] } }) => error.packet?.granted ?? [],
    );
    const own = await client.subscribeAsync("devices/box-emb-3/messages/devicebound/#", { qos: 1 });
    await client.endAsync(true);
    assert.deepEqual(granted, [128], "SUBACK refuses the other device's tree");
    assert.equal(own[0]!.qos, 1, "the connection stays up and its own tree is granted");
  });
});

describe("development PKI without openssl (pure-JavaScript fallback)", function () {
  this.timeout(60_000);

  it("makes certificates that mosquitto-grade TLS accepts: the device connects over mutual TLS", async () => {
    const pki = new TestPki("local-hub", "forge");
    assert.equal(pki.ca.backend, "forge");
    const broker = await EmbeddedBroker.start({ ca: pki.caPem, cert: readFileSync(pki.server.cert), key: readFileSync(pki.server.key), serviceIdentities: [] });
    const device = testDevice(pki, "box-forge-1", broker.port);
    try {
      device.start();
      await device.waitConnected();
      assert.equal(device.deviceId, "box-forge-1", "device id read from the certificate CN");
    } finally {
      device.stop();
      await broker.close();
    }
  });
});

describe("npm start (the host simulation in a terminal)", function () {
  this.timeout(60_000);

  it("presses buttons, shows PUBACK confirmations and the LED colour the hub sets", async () => {
    const cwd = tempDir("start");
    await withStartCli(cwd, ["--buttons", "3"], async (cli) => {
      await cli.until(/boot: online \(hub iotrafi-prod-iot-hub.azure-devices.net, assigned by the bootstrap service\)/, "the simulated box to boot (Wi-Fi, time, bootstrap, hub)", 30_000);
      cli.send("2");
      await cli.until(/button 2: Button_pressed .*delivered \(PUBACK\)/, "the PUBACK confirmation");
      cli.send("y");
      await cli.until(/button 2 LED → .*yellow/, "LED 2 to turn yellow");
      await cli.until(/setColor answered 200/, "the method answer");
    });
  });
});
