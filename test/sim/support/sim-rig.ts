import { generateKeyPairSync, X509Certificate, type KeyObject } from "node:crypto";
import { cpSync, existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startLocalCloud, type LocalCloud } from "../../../host/cli/local-cloud";
import { BOOTSTRAP_HOST, DEFAULT_HUB_HOST } from "../../../src/bootstrap/bootstrap-contract";
import { BLOB_HOST } from "../../../host/hub/local-blob-store";
import { Chrony } from "../../integration/support/chrony";
import { TcpProxy } from "../../integration/support/tcp-proxy";
import { tempDir } from "../../integration/support/processes";
import { McSim, buildSimulator, sdkPaths, type BuildVariant, type McSimOptions } from "./mcsim";

/** Ports to reach instead of the rig's own servers (e.g. a test's TLS servers, or delay proxies in front of them). */
export interface RigServers {
  readonly ntp?: number;
  readonly bootstrap?: number;
  readonly blobs?: number;
}

/** The simulator's state on lin: preferences and the file module's root (outbox, simulated partitions). */
const SIM_STATE = ["/tmp/modpreferences.json", "/tmp/ota", "/tmp/outbox"];

const APPS = { box: "kisbox", light: "kislight" } as const;

/** Moves the simulator's state into `backup` (a new folder), so the next run starts like a new device. */
export function setAsideSimState(backup: string): void {
  mkdirSync(backup);
  for (const path of SIM_STATE) {
    if (!existsSync(path)) continue;
    cpSync(path, join(backup, path.replace(/\//g, "_")), { recursive: true });
    rmSync(path, { recursive: true, force: true });
  }
}

/** Puts back what `setAsideSimState` saved in `backup` (nothing when it never ran). */
export function restoreSimState(backup: string): void {
  if (!existsSync(backup)) return;
  for (const path of SIM_STATE) {
    rmSync(path, { recursive: true, force: true });
    const saved = join(backup, path.replace(/\//g, "_"));
    if (existsSync(saved)) cpSync(saved, path, { recursive: true });
  }
}

/**
 * One simulated device and its world: the local cloud for its device id (broker behind `hubLink`, a proxy the
 * test can make refuse), chronyd, development credentials and a release key, the lin build of the product with
 * routes to all of them, and a fresh simulator state (whatever was there is saved and put back by `dispose`).
 */
export class SimRig {
  sim: McSim | undefined;

  private constructor(
    readonly dir: string,
    readonly product: keyof typeof APPS,
    readonly cloud: LocalCloud,
    readonly chrony: Chrony,
    readonly hubLink: TcpProxy,
    readonly releaseKey: KeyObject,
    readonly variant: BuildVariant,
  ) {}

  /**
   * `servers`: ports to reach instead of the local cloud's bootstrap service and blob storage (e.g. a test's own
   * TLS servers), or a function of the rig's cloud and chronyd giving them (proxies in front of those); the hub is
   * always reached through `hubLink`, whose target a test can change. `variant`: the kind of lin build.
   */
  static async start(
    deviceId: string,
    product: keyof typeof APPS,
    config: Record<string, string> = {},
    serversOrLinks: RigServers | ((cloud: LocalCloud, chrony: Chrony) => Promise<RigServers>) = {},
    variant: BuildVariant = "release",
  ): Promise<SimRig> {
    const dir = tempDir("sim");
    const cloud = await startLocalCloud(join(dir, "pki"), deviceId);
    const chrony = await Chrony.start();
    const hubLink = await TcpProxy.start(cloud.broker.port);
    const pair = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
    const rig = new SimRig(dir, product, cloud, chrony, hubLink, pair.privateKey, variant);
    const servers = typeof serversOrLinks === "function" ? await serversOrLinks(cloud, chrony) : serversOrLinks;

    // Development credentials, embedded as resources (KISME_DEV_CREDENTIALS): DER certificates, PKCS#8 key.
    const creds = join(dir, "creds");
    mkdirSync(creds);
    cpSync(cloud.device.certDer, join(creds, "device.der"));
    cpSync(cloud.device.keyDer, join(creds, "device.key.der"));
    writeFileSync(join(creds, "dev-ca.der"), new X509Certificate(cloud.caPem).raw);
    const routes = [
      ...[0, 1, 2, 3].map((n) => `${n}.europe.pool.ntp.org:123/udp=127.0.0.1:${servers.ntp ?? chrony.port}`),
      `${BOOTSTRAP_HOST}:443/tcp=127.0.0.1:${servers.bootstrap ?? cloud.bootstrap.port}`,
      `${DEFAULT_HUB_HOST}:8883/tcp=127.0.0.1:${hubLink.port}`,
      `${BLOB_HOST}:443/tcp=127.0.0.1:${servers.blobs ?? cloud.blobs.port}`,
    ].join(",");
    buildSimulator(
      product,
      { releaseKey: pair.publicKey.export({ format: "der", type: "spki" }).toString("base64"), routes, logLevel: "debug", ...config },
      { KISME_DEV_CREDENTIALS: creds },
      variant,
    );

    setAsideSimState(rig.backup);
    return rig;
  }

  private get backup(): string {
    return join(this.dir, "sim-state-backup");
  }

  /** Power on (after a power off, if running). */
  async powerOn(options: McSimOptions = {}): Promise<McSim> {
    await this.sim?.stop();
    this.sim = new McSim(sdkPaths(this.variant).app(APPS[this.product]), options);
    this.sim.start();
    return this.sim;
  }

  async dispose(): Promise<void> {
    await this.sim?.stop();
    await this.hubLink.close();
    await this.cloud.close();
    await this.chrony.dispose();
    restoreSimState(this.backup);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
