import assert from "node:assert/strict";
import { waitFor } from "./support/processes";
import { testDevice } from "./support/fixture";
import { useFaultyHub } from "./support/faulty-hub";

/** A full outbox drops the oldest events — and says so: an Events_dropped event and the diagnostics count. */
describe("dropped events are reported, never silent", function () {
  this.timeout(30_000);
  const deviceId = "kisbox-drop-1";
  const rig = useFaultyHub(deviceId);

  it("keeps the newest events, then reports how many were dropped once the link is back", async () => {
    const { pki, hub, proxy } = rig;
    proxy.refuse(true); // the hub is unreachable
    const device = (rig.device = testDevice(pki, deviceId, proxy.port, { hub: { backoff: { initialMs: 50, maxMs: 200 }, outboxCapacity: 5, window: 1 } }));
    device.start();
    await waitFor(() => device.boot.status.phase === "hub", "the device trying to reach the hub");
    const ids = Array.from({ length: 9 }, (_, i) => device.box.press(1 + (i % 3)).id);
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
