import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { EmbeddedBroker } from "../../host/hub/embedded-broker";
import type { LocalHub } from "../../host/hub/local-hub";
import { FaultProxy } from "./support/fault-proxy";
import { TestPki, testDevice, type TestDevice } from "./support/fixture";
import type { Mosquitto } from "./support/mosquitto";
import { sleep, tempDir, waitFor } from "./support/processes";
import { withStartCli } from "./support/start-cli";

/**
 * The orderly goodbye: when the host simulation quits (q, SIGTERM) and before the firmware restarts on command, the
 * device sends MQTT DISCONNECT after the PUBACKs in flight, and the broker sees a clean end of the session rather
 * than a lost connection. The brokers tell the two apart: aedes (the local cloud's broker) marks a session ended by
 * DISCONNECT, mosquitto logs "Client X disconnected." for it and "Client X closed its connection." otherwise.
 */
describe("orderly goodbye: the broker sees DISCONNECT", function () {
  this.timeout(60_000);

  describe("the local cloud's broker (in process)", () => {
    let pki: TestPki;
    let broker: EmbeddedBroker;
    let proxy: FaultProxy;
    let device: TestDevice | undefined;

    before(async () => {
      pki = new TestPki();
      broker = await EmbeddedBroker.start({ ca: pki.caPem, cert: readFileSync(pki.server.cert), key: readFileSync(pki.server.key), serviceIdentities: [] });
      proxy = await FaultProxy.start(broker.port);
    });

    after(async () => {
      device?.stop();
      await proxy?.close();
      await broker?.close();
    });

    it("a cut link is recorded as a lost connection; shutdown() as a clean DISCONNECT", async () => {
      const id = "box-bye-1";
      const ends = () => broker.sessions.filter((e) => e.clientId === id && e.state === "disconnected");
      device = testDevice(pki, id, proxy.port);
      device.start();
      await device.waitConnected();
      proxy.reset();
      await waitFor(() => ends().length === 1, "the broker to notice the cut link");
      assert.deepEqual(ends()[0], { clientId: id, state: "disconnected", clean: false }, "the control: a cut is not a DISCONNECT");
      await waitFor(() => device!.hub.status.state === "connected" && broker.sessions[broker.sessions.length - 1]?.state === "connected", "the reconnect");
      device.box.press(1);
      await device.shutdown();
      await waitFor(() => ends().length === 2, "the broker to record the end of the session");
      assert.deepEqual(ends()[1], { clientId: id, state: "disconnected", clean: true });
      assert.equal(device.hub.outbox.depth, 0, "the press in flight was acknowledged before the goodbye");
      assert.equal(device.hub.status.state, "stopped");
      device = undefined;
    });
  });

  describe("npm start", () => {
    it("quits with q right after a press: the press is acknowledged first, then DISCONNECT, exit code 0", async () => {
      const out = await withStartCli(tempDir("bye"), [], async (cli) => {
        await cli.until(/boot: online/, "the simulated box to reach the hub", 20_000);
        await cli.until(/hub: kisbox-sim-1 connected/, "the broker's record of the session");
        cli.send("1"); // q follows at once: the press is still in flight when the goodbye begins
      });
      const delivered = out.search(/button 1: Button_pressed .*delivered \(PUBACK\)/);
      const disconnected = out.search(/hub: kisbox-sim-1 disconnected \(DISCONNECT\)/);
      assert.ok(delivered >= 0, "the PUBACK of the press in flight was awaited");
      assert.ok(disconnected > delivered, "DISCONNECT after the PUBACK");
      assert.doesNotMatch(out, /connection lost \(no DISCONNECT\)/);
    });

    it("ends on SIGTERM with DISCONNECT, exit code 0", async () => {
      const out = await withStartCli(
        tempDir("bye"),
        [],
        async (cli) => {
          await cli.until(/boot: online/, "the simulated box to reach the hub", 20_000);
          await cli.until(/hub: kisbox-sim-1 connected/, "the broker's record of the session");
        },
        { quit: "SIGTERM" },
      );
      assert.match(out, /hub: kisbox-sim-1 disconnected \(DISCONNECT\)/);
      assert.doesNotMatch(out, /connection lost \(no DISCONNECT\)/);
    });
  });

  describe("mosquitto, before a commanded reboot", () => {
    const id = "box-bye-2";
    let pki: TestPki;
    let broker: Mosquitto;
    let hub: LocalHub;
    let device: TestDevice | undefined;

    before(async () => {
      pki = new TestPki();
      ({ broker, hub } = await pki.mosquittoHub(id));
    });

    after(async () => {
      device?.stop();
      await hub?.stop();
      await broker?.stop();
    });

    it("answers the reboot method, then DISCONNECTs, then restarts", async () => {
      let restarts = 0;
      device = testDevice(pki, id, broker.port, { update: { dir: tempDir("bye-slots"), slotSize: 64 * 1024, onRestart: () => restarts++ } });
      device.start();
      await device.waitConnected();
      await waitFor(() => broker.log.includes(`as ${id}`), "mosquitto to log the connection");
      const answer = await hub.invokeMethod("reboot", { delayMs: 1000 });
      assert.deepEqual(answer, { status: 200, payload: { rebootInMs: 1000 } });
      await waitFor(() => restarts === 1, "the restart");
      await waitFor(() => new RegExp(`Client ${id} (disconnected\\.|closed its connection)`).test(broker.log), "mosquitto to log the end of the session");
      await sleep(100);
      assert.match(broker.log, new RegExp(`Client ${id} disconnected\\.`));
      assert.doesNotMatch(broker.log, new RegExp(`Client ${id} closed its connection`));
      assert.equal(device.hub.status.state, "stopped", "no reconnect while restarting");
    });
  });
});
