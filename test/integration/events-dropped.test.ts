import assert from "node:assert/strict";
import type { LocalHub } from "../../host/hub/local-hub";
import { Mosquitto } from "./support/mosquitto";
import { FaultProxy } from "./support/fault-proxy";
import { waitFor } from "./support/processes";
import { TestPki, testDevice, type TestDevice } from "./support/fixture";

/** A full outbox drops the oldest events — and says so: an Events_dropped event and the diagnostics count. */
describe("dropped events are reported, never silent", function () {
  this.timeout(30_000);
  const deviceId = "kisbox-drop-1";
  let pki: TestPki;
  let broker: Mosquitto;
  let hub: LocalHub;
  let proxy: FaultProxy;
  let device: TestDevice | undefined;

  before(async () => {
    pki = new TestPki();
    ({ broker, hub } = await pki.mosquittoHub(deviceId));
    proxy = await FaultProxy.start(broker.port);
  });

  after(async () => {
    device?.stop();
    await proxy?.close();
    await hub?.stop();
    await broker?.stop();
  });

  it("keeps the newest events, then reports how many were dropped once the link is back", async () => {
    proxy.refuse(true); // the hub is unreachable
    device = testDevice(pki, deviceId, proxy.port, { hub: { backoff: { initialMs: 50, maxMs: 200 }, outboxCapacity: 5, window: 1 } });
    device.start();
    await waitFor(() => device!.boot.status.phase === "hub", "the device trying to reach the hub");
    const ids = Array.from({ length: 9 }, (_, i) => device!.box.press(1 + (i % 3)).id);
    assert.equal(device.hub.outbox.dropped, 5, "capacity 5 of 10 events: Device_started and the four oldest presses dropped");
    proxy.refuse(false);
    await waitFor(() => hub.telemetry.some((t) => t.properties["event"] === "Events_dropped"), "the Events_dropped event");
    const dropped = hub.telemetry.find((t) => t.properties["event"] === "Events_dropped")!;
    assert.equal(JSON.parse(dropped.body).Events_dropped.count, 5);
    await waitFor(() => ids.slice(4).every((id) => hub.telemetry.some((t) => t.messageId === id)), "the kept presses");
    assert.ok(ids.slice(0, 4).every((id) => !hub.telemetry.some((t) => t.messageId === id)), "the dropped ones never arrive");
    await waitFor(() => (hub.reported["diagnostics"] as { eventsDropped?: number } | undefined)?.eventsDropped === 5, "the count in diagnostics");
  });
});
