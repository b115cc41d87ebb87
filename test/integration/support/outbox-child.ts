/**
 * The device side of the "kill at random points" test, run as a child Node process so the test can
 * SIGKILL it: a real HubClient over the firmware's own MQTT client (src/mqtt on node:tls) whose outbox is an
 * OutboxLog on files.
 *
 *   node build/test/integration/support/outbox-child.js '<json ChildConfig>'
 *
 * stdout, one line each (written synchronously: stdout is a pipe):
 *   OPEN <records> <torn> <corrupt>   the log opened (records found, torn tails, corrupt regions)
 *   REC <id> <createdAt>              an event is stored (printed after append returned)
 *   ACK <id>                          its PUBACK arrived
 *   DRAINED                           (drain mode) the outbox is empty; the process then exits
 */
import { readFileSync } from "node:fs";
import { HubClient } from "../../../src/azure/hub-client";
import { silentLogger } from "../../../src/ports/logger";
import { OutboxLog } from "../../../src/storage/outbox-log";
import { FileRecordStorage } from "../../../host/adapters/file-record-storage";
import { NodeStreamSocketPort } from "../../../host/adapters/node-stream-socket";
import { StreamMqttConnector } from "../../../src/mqtt/mqtt-client";
import { NodeClock, NodeRandom } from "../../../host/adapters/node-platform";

export interface ChildConfig {
  readonly dir: string;
  readonly port: number;
  readonly deviceId: string;
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
  /** "record": store an event every intervalMs and send; "drain": send what is stored, then exit. */
  readonly mode: "record" | "drain";
  readonly intervalMs?: number;
}

const config = JSON.parse(process.argv[2] ?? "{}") as ChildConfig;
const out = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

const log = new OutboxLog(new FileRecordStorage(config.dir));
const stored = log.load();
const stats = log.stats;
out(`OPEN ${stored.length} ${stats.torn} ${stats.corrupt}`);

const clock = new NodeClock();
const hub = new HubClient(
  {
    endpoint: { host: "localhost", port: config.port, address: "127.0.0.1" },
    identity: { deviceId: config.deviceId, tls: { ca: [readFileSync(config.ca)], certificate: readFileSync(config.cert), key: readFileSync(config.key) } },
    backoff: { initialMs: 50, maxMs: 300 },
    attemptTimeoutMs: 3000,
    stableAfterMs: 1000,
    twinTimeoutMs: 3000,
    window: 8,
  },
  { connector: new StreamMqttConnector({ sockets: new NodeStreamSocketPort(), clock, connectTimeoutMs: 3000 }), clock, random: new NodeRandom(), logger: silentLogger, outboxStore: log },
);
hub.outbox.onEvent((e) => {
  if (e.type === "delivered") out(`ACK ${e.record.id}`);
});
hub.start();

if (config.mode === "record") {
  let n = 0;
  setInterval(() => {
    const record = hub.sendTelemetry({ n: n++, pid: process.pid }, { test: "kill" });
    out(`REC ${record.id} ${record.createdAt}`);
  }, config.intervalMs ?? 10);
} else {
  const check = setInterval(() => {
    if (hub.outbox.depth > 0) return;
    clearInterval(check);
    out("DRAINED");
    hub.stop();
    clock.clearAll();
    setTimeout(() => process.exit(0), 50);
  }, 20);
}
