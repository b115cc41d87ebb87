/**
 * The device side of the "killed mid-write" OTA test, run as a child Node process so the test can SIGKILL it:
 * powers on from the slot directory (FileUpdateWriter.powerOn), then applies the manifest through OtaManager,
 * NodeHttpStreamClient and FileUpdateWriter, exactly as ota-https.test.ts wires a device in process.
 *
 *   node build/test/integration/support/ota-child.js '<json OtaChildConfig>'
 *
 * stdout, one line each (written synchronously: stdout is a pipe):
 *   BOOT <slot> <version>          the slot the "bootloader" started and the version running from it
 *   STATUS <status> <progress>     every status change of the OtaManager (progress in whole per cent written)
 *   FAILED <lastError>             the update failed; the process exits with 1
 *   RESTART                        the image is verified and selected, the firmware restarts; the process exits with 0
 * The firmware's log goes to stderr.
 */
import { readFileSync } from "node:fs";
import type { FirmwareManifest } from "../../../src/update/update-manifest";
import { LineLogger } from "../../../host/adapters/node-platform";
import { powerOnOtaDevice } from "./ota-device";

export interface OtaChildConfig {
  readonly flash: string;
  readonly slotSize: number;
  readonly factoryVersion: string;
  /** The loopback blob server (127.0.0.1). */
  readonly blobPort: number;
  /** PEM file of the CA that issued the blob server's certificate. */
  readonly caFile: string;
  /** Base64 DER SubjectPublicKeyInfo of the release key. */
  readonly publicKey: string;
  readonly manifest: FirmwareManifest;
}

const config = JSON.parse(process.argv[2] ?? "{}") as OtaChildConfig;
const out = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

const device = powerOnOtaDevice({
  flash: config.flash,
  slotSize: config.slotSize,
  factoryVersion: config.factoryVersion,
  blobPort: config.blobPort,
  ca: readFileSync(config.caFile),
  publicKey: new Uint8Array(Buffer.from(config.publicKey, "base64")),
  logger: new LineLogger("debug"),
  onRestart: () => {
    out("RESTART");
    process.exit(0);
  },
});
const slots = device.writer.slots();
out(`BOOT ${slots.runningSlot} ${slots.runningVersion}`);
device.ota.onStatus((s) => {
  out(`STATUS ${s.status} ${s.progress}`);
  if (s.status === "failed") {
    out(`FAILED ${s.lastError ?? ""}`);
    process.exit(1);
  }
});
device.ota.apply(config.manifest, false);
