import { X509Certificate } from "node:crypto";
import { HubClient, type HubClientConfig } from "../../src/azure/hub-client";
import { KisBox, type LedSink } from "../../src/device/kis-box";
import type { Logger } from "../../src/ports/logger";
import type { OutboxStore } from "../../src/azure/telemetry-outbox";
import { MqttJsConnector } from "../adapters/mqttjs-connector";
import { NodeClock, NodeRandom } from "../adapters/node-platform";

/** Reads the CN of a PEM or DER certificate: IoT Hub's X.509 device id. */
export function certificateCommonName(cert: Buffer): string {
  const subject = new X509Certificate(cert).subject;
  const cn = /(?:^|\n)CN=([^\n]+)/.exec(subject)?.[1];
  if (!cn) throw new Error(`the device certificate has no CN in its subject (${subject.replace(/\n/g, ", ")})`);
  return cn;
}

/** Any certificate (PEM or DER) as PEM, the form Node's TLS takes. */
export function toPem(cert: Buffer): Buffer {
  return Buffer.from(new X509Certificate(cert).toString());
}

export interface HostDeviceOptions {
  readonly hubHost: string;
  readonly hubPort: number;
  /** Connect here instead of resolving hubHost (certificate still checked against hubHost). */
  readonly address?: string;
  readonly ca: readonly Buffer[];
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly deviceId?: string;
  readonly modelId?: string;
  readonly buttonCount: number;
  readonly logger: Logger;
  readonly outboxStore?: OutboxStore;
  readonly tuning?: Partial<Pick<HubClientConfig, "keepAliveSeconds" | "backoff" | "window" | "twinTimeoutMs" | "attemptTimeoutMs" | "stableAfterMs" | "outboxCapacity">>;
}

export interface HostDevice {
  readonly hub: HubClient;
  readonly box: KisBox;
  readonly deviceId: string;
  start(): void;
  stop(): void;
}

/** A simulated KIS.BOX: the portable core with the Node adapters. */
export function createHostDevice(options: HostDeviceOptions, leds: LedSink): HostDevice {
  const clock = new NodeClock();
  const deviceId = options.deviceId ?? certificateCommonName(options.cert);
  const hub = new HubClient(
    {
      endpoint: { host: options.hubHost, port: options.hubPort, ...(options.address ? { address: options.address } : {}) },
      identity: {
        deviceId,
        ...(options.modelId ? { modelId: options.modelId } : {}),
        tls: { ca: options.ca.map((c) => toPem(c)), certificate: options.cert, key: options.key },
      },
      ...options.tuning,
    },
    { connector: new MqttJsConnector(), clock, random: new NodeRandom(), logger: options.logger, ...(options.outboxStore ? { outboxStore: options.outboxStore } : {}) },
  );
  const box = new KisBox({ hub, leds, clock, buttonCount: options.buttonCount });
  return {
    hub,
    box,
    deviceId,
    start: () => hub.start(),
    stop: () => {
      hub.stop();
      clock.clearAll();
    },
  };
}
