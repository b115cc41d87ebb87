import { EgressPolicy, INTEGRATION_GUIDE_EGRESS, type EgressAttempt } from "../../../src/net/egress-policy";
import { StaticRoutes } from "../../../src/net/guarded-network";
import { GuardedHttpStreamClient } from "../../../src/net/guarded-http-stream";
import { scoped, type Logger } from "../../../src/ports/logger";
import { OtaManager, type FirmwareReport } from "../../../src/update/ota-manager";
import { NodeHttpStreamClient } from "../../../host/adapters/node-http-stream";
import { NodeCrypto } from "../../../host/adapters/node-crypto";
import { FileUpdateWriter } from "../../../host/adapters/file-update-writer";
import { NodeClock, NodeRandom } from "../../../host/adapters/node-platform";
import { FileStore } from "../../../host/adapters/file-store";
import { SecurityFloor } from "../../../src/update/security-floor";
import type { FirmwareProduct } from "../../../src/update/update-manifest";
import { join } from "node:path";
import { BLOB } from "./blob-server";

/** The flash write unit of the OTA test devices. */
export const OTA_CHUNK = 4096;

export interface OtaDeviceOptions {
  /** The slot directory ("flash"). */
  readonly flash: string;
  readonly slotSize: number;
  /** The image in slot a of a new flash directory. */
  readonly factoryVersion: string;
  /** Where BLOB:443 is routed (the loopback blob server on 127.0.0.1). */
  readonly blobPort: number;
  /** The test CA (PEM) that issued the blob server's certificate. */
  readonly ca: Uint8Array;
  /** The release key built into the firmware (DER SubjectPublicKeyInfo). */
  readonly publicKey: Uint8Array;
  readonly logger: Logger;
  readonly stallTimeoutMs?: number;
  readonly confirmTimeoutMs?: number;
  /** Called when the firmware restarts the device (after an update, or to roll back). */
  readonly onRestart?: () => void;
  /** The product the device's firmware is (default "box"). */
  readonly product?: FirmwareProduct;
}

/** The update part of a device: the OtaManager over the real HTTPS stream adapter and file-backed A/B slots. */
export interface OtaDevice {
  readonly writer: FileUpdateWriter;
  readonly ota: OtaManager;
  readonly reports: FirmwareReport[];
  readonly attempts: EgressAttempt[];
  /** The device's NVS (a file beside the slots): the security floor lives here across power-ons. */
  readonly floor: SecurityFloor;
  /** The firmware asked for a restart (after an update, or to roll back). */
  readonly restarted: boolean;
  shutdown(): void;
}

/**
 * Powers a device on from its slot directory: the "bootloader" (FileUpdateWriter.powerOn) picks the slot, the
 * firmware of that slot runs and its OtaManager has booted (pending image, rollback record). Downloads go through
 * the egress policy and the guarded stream client to NodeHttpStreamClient, with BLOB routed to 127.0.0.1.
 */
export function powerOnOtaDevice(o: OtaDeviceOptions): OtaDevice {
  const clock = new NodeClock();
  const reports: FirmwareReport[] = [];
  const attempts: EgressAttempt[] = [];
  const policy = new EgressPolicy(INTEGRATION_GUIDE_EGRESS, scoped(o.logger, "egress"));
  policy.onAttempt((a) => attempts.push(a));
  const routes = new StaticRoutes().set(BLOB, 443, "tcp", { address: "127.0.0.1", port: o.blobPort });
  let restarted = false;
  let ota: OtaManager | undefined;
  const shutdown = (): void => {
    ota?.dispose();
    clock.clearAll();
  };
  const restart = (): void => {
    restarted = true;
    shutdown();
    o.onRestart?.();
  };
  const writer = FileUpdateWriter.powerOn(o.flash, { slotSize: o.slotSize, factoryVersion: o.factoryVersion, restart });
  const floor = new SecurityFloor(new FileStore(join(o.flash, "nvs.json")));
  ota = new OtaManager({
    currentVersion: writer.slots().runningVersion,
    product: o.product ?? "box",
    securityFloor: floor,
    wallClock: () => Date.now(),
    clock,
    random: new NodeRandom(),
    logger: scoped(o.logger, "ota"),
    stream: new GuardedHttpStreamClient(new NodeHttpStreamClient(), { policy, routes, clockValid: () => true }),
    crypto: new NodeCrypto(),
    writer,
    reporter: {
      report: (patch) => {
        reports.push(patch.firmware as FirmwareReport);
        return Promise.resolve(reports.length);
      },
    },
    publicKey: o.publicKey,
    ca: [o.ca],
    restart,
    chunkSize: OTA_CHUNK,
    stallTimeoutMs: o.stallTimeoutMs ?? 2000,
    connectTimeoutMs: 3000,
    maxRetries: 2,
    backoff: { initialMs: 20, maxMs: 50 },
    progressIntervalMs: 0,
    rebootDelayMs: 10,
    confirmTimeoutMs: o.confirmTimeoutMs ?? 5000,
    maxPendingBoots: 2,
  });
  const device: OtaDevice = {
    writer,
    ota,
    reports,
    attempts,
    floor,
    get restarted() {
      return restarted;
    },
    shutdown,
  };
  ota.boot();
  return device;
}
