import assert from "node:assert/strict";
import type { HubClient } from "../../../src/azure/hub-client";
import type { LocalHub } from "../../../host/hub/local-hub";
import type { Mosquitto } from "./mosquitto";
import type { TcpProxy } from "./tcp-proxy";
import { sleep, waitFor } from "./processes";

/**
 * Sends 200 telemetry messages while the link through `proxy` is cut (at 60) and the broker restarts (at 130),
 * then checks that every message reached the hub, duplicates only by resend, first arrivals in send order.
 * Prints sent / received / duplicates / lost. Shared by the MQTT.js and the portable-client suites.
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
  const wanted = new Set(ids);
  const arrived = () => hub.telemetry.slice(before).filter((t) => t.messageId !== undefined && wanted.has(t.messageId));
  await waitFor(() => new Set(arrived().map((t) => t.messageId)).size === 200, "all 200 messages at the hub", 60_000);
  await waitFor(() => device.outbox.depth === 0, "the outbox to drain", 10_000);
  const received = arrived();
  const unique = new Set(received.map((t) => t.messageId)).size;
  process.stdout.write(
    `      sent 200 / received ${received.length} / unique ${unique} / duplicates ${received.length - unique} / lost ${200 - unique}; link connections ${proxy.connections}${options.note?.() ?? ""}\n`,
  );
  assert.equal(unique, 200);
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
