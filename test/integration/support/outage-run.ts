import assert from "node:assert/strict";
import type { HubClient } from "../../../src/azure/hub-client";
import type { LocalHub } from "../../../host/hub/local-hub";
import type { Mosquitto } from "./mosquitto";
import type { TcpProxy } from "./tcp-proxy";
import { sleep, waitFor } from "./processes";
import { awaitDelivery } from "./delivery-figures";

/**
 * Sends 200 telemetry messages while the link through `proxy` is cut (at 60) and the broker restarts (at 130),
 * then checks that every message reached the hub, duplicates only by resend, first arrivals in send order.
 * Prints events sent / received / duplicates / lost, counted from the hub's record when the run ends (also when it
 * times out), and asserts that none was lost.
 */
export async function sendThroughOutages(options: { hub: LocalHub; device: HubClient; proxy: TcpProxy; broker: Mosquitto; note?: () => string }): Promise<void> {
  const { hub, device, proxy, broker } = options;
  const before = hub.telemetry.length;
  const ids: string[] = [];
  for (let i = 0; i < 200; i++) {
    ids.push(device.sendTelemetry({ seq: i }, { test: "resilience" }).id);
    if (i === 60) proxy.cutAll();
    if (i === 130) await broker.restart();
    await sleep(5);
  }
  const figures = await awaitDelivery({
    sent: ids,
    recorded: () => hub.telemetry.slice(before).map((t) => t.messageId),
    timeoutMs: 60_000,
    note: () => `; link connections ${proxy.connections}${options.note?.() ?? ""}`,
  });
  assert.equal(figures.lost, 0, `${figures.lost} messages never reached the hub`);
  await waitFor(() => device.outbox.depth === 0, "the outbox to drain", 10_000);
  const wanted = new Set(ids);
  const received = hub.telemetry.slice(before).filter((t) => t.messageId !== undefined && wanted.has(t.messageId));
  assert.ok(proxy.connections >= 3, "the device reconnected after the cut and after the restart");
  // Order is kept apart from resends: the first arrival of each id is in send order.
  const firstSeen: number[] = [];
  const seen = new Set<string>();
  for (const t of received) {
    if (seen.has(t.messageId!)) continue;
    seen.add(t.messageId!);
    firstSeen.push((JSON.parse(t.body) as { seq: number }).seq);
  }
  assert.deepEqual(firstSeen, [...firstSeen].sort((x, y) => x - y));
}
