import assert from "node:assert/strict";
import { sleep } from "./support/processes";
import { awaitDelivery } from "./support/delivery-figures";
import { testDevice } from "./support/fixture";
import { useFaultyHub } from "./support/faulty-hub";

/**
 * No lost events: presses on three buttons while the broker is killed and restarted and the link is reset or
 * stalled. npm test runs a short round; `npm run test:long` (KISME_SOAK=1) the full one: 1000 events, 20 broker
 * restarts. Prints events sent / received / duplicates / lost, counted from the hub's record when the run ends
 * (also when it times out), and asserts that none was lost.
 */
const LONG = process.env["KISME_SOAK"] === "1";
const EVENTS = LONG ? 1000 : 150;
const RESTARTS = LONG ? 20 : 3;

describe(`soak: ${EVENTS} events, ${RESTARTS} broker restarts, link resets and stalls`, function () {
  this.timeout(LONG ? 600_000 : 90_000);
  const deviceId = "kisbox-soak-1";
  const rig = useFaultyHub(deviceId);

  it("delivers every event at least once, duplicates recognisable and bounded, order per button kept", async () => {
    const { pki, broker, hub, proxy } = rig;
    const device = (rig.device = testDevice(pki, deviceId, proxy.port, { hub: { backoff: { initialMs: 50, maxMs: 500 }, window: 8, outboxCapacity: 5000, stableAfterMs: 1000 } }));
    device.start();
    await device.waitConnected();
    const ids: string[] = [];
    const faultEvery = Math.floor(EVENTS / (RESTARTS * 2));
    let restarts = 0;
    for (let i = 0; i < EVENTS; i++) {
      ids.push(device.box.press(1 + (i % 3)).id);
      if (i > 0 && i % faultEvery === 0) {
        const k = i / faultEvery;
        if (k % 2 === 0 && restarts < RESTARTS) {
          restarts++;
          await broker.restart(); // SIGTERM + start: mosquitto keeps what it acknowledged (persistence)
        } else if (k % 4 === 1) {
          proxy.reset();
        } else {
          proxy.stall();
          await sleep(300);
          proxy.resume();
        }
      }
      await sleep(LONG ? 5 : 3);
    }
    while (restarts < RESTARTS) {
      restarts++;
      await broker.restart();
    }
    const figures = await awaitDelivery({
      sent: ids,
      recorded: () => hub.telemetry.map((t) => t.messageId),
      timeoutMs: LONG ? 300_000 : 60_000,
      note: () => ` (broker restarts ${restarts}, link connections ${proxy.connections})`,
    });
    assert.equal(figures.lost, 0, `${figures.lost} events never reached the hub`);
    const wanted = new Set(ids);
    const received = hub.telemetry.filter((t) => t.messageId !== undefined && wanted.has(t.messageId));
    const duplicates = figures.duplicates;
    // Each interruption can repeat at most the in-flight window.
    assert.ok(duplicates <= (RESTARTS * 3 + 1) * 8, `duplicates ${duplicates} exceed the window bound`);
    // Order per button: the first arrival of each event follows the order it was recorded in.
    const seqOf = new Map(ids.map((id, n) => [id, n]));
    for (const button of [1, 2, 3]) {
      const seen = new Set<string>();
      const order: number[] = [];
      for (const t of received) {
        if (seen.has(t.messageId!)) continue;
        seen.add(t.messageId!);
        if (JSON.parse(t.body).Button_pressed.button === button) order.push(seqOf.get(t.messageId!)!);
      }
      assert.deepEqual(order, [...order].sort((a, b) => a - b), `order of button ${button}`);
    }
  });
});
