import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { OwnedProcess, freePort, waitForPort } from "./processes";

const CANDIDATES = ["/usr/sbin/mosquitto", "/usr/bin/mosquitto", "/usr/local/sbin/mosquitto"];

export function mosquittoPath(): string {
  const found = CANDIDATES.find((p) => existsSync(p));
  if (!found) throw new Error("mosquitto is not installed: run .ci/run, or apt-get install mosquitto");
  return found;
}

export interface MosquittoOptions {
  readonly dir: string;
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  /** Identities (certificate CNs) allowed to use every topic, e.g. the local hub service. */
  readonly services: readonly string[];
}

/**
 * mosquitto as IoT Hub's stand-in: TLS on loopback, client certificates required, the certificate CN
 * as user name, an ACL giving each device its own devices/{id}/# tree, $iothub topics, persistence.
 */
export class Mosquitto {
  private process: OwnedProcess | undefined;
  readonly configFile: string;

  private constructor(
    readonly port: number,
    options: MosquittoOptions,
  ) {
    this.configFile = join(options.dir, "mosquitto.conf");
    const acl = join(options.dir, "acl");
    writeFileSync(
      acl,
      [
        "pattern readwrite devices/%u/#",
        "pattern readwrite $iothub/#",
        ...options.services.flatMap((s) => [`user ${s}`, "topic readwrite #", "topic readwrite $iothub/#"]),
        "",
      ].join("\n"),
    );
    writeFileSync(
      this.configFile,
      [
        // Started as root (CI), mosquitto would drop to the 'mosquitto' user, which cannot read this
        // test's private temp folder; as any other user this line is ignored.
        "user root",
        "per_listener_settings false",
        "allow_anonymous false",
        `listener ${port} 127.0.0.1`,
        `cafile ${options.caFile}`,
        `certfile ${options.certFile}`,
        `keyfile ${options.keyFile}`,
        "require_certificate true",
        "use_identity_as_username true",
        `acl_file ${acl}`,
        "set_tcp_nodelay true",
        "persistence true",
        `persistence_location ${options.dir}/`,
        "autosave_interval 1",
        "max_queued_messages 10000",
        "log_dest stderr",
        "log_type error",
        "log_type warning",
        "log_type notice",
        "",
      ].join("\n"),
    );
  }

  static async start(options: MosquittoOptions): Promise<Mosquitto> {
    const broker = new Mosquitto(await freePort(), options);
    await broker.restart();
    return broker;
  }

  /** (Re)starts the broker on the same port with the same persistence. */
  async restart(): Promise<void> {
    await this.process?.stop();
    this.process = OwnedProcess.start(mosquittoPath(), ["-c", this.configFile]);
    try {
      const started = this.process;
      await waitForPort(this.port, 10_000, () => started.running);
    } catch (error) {
      throw new Error(`mosquitto did not start: ${(error as Error).message}\n${this.process.output}`);
    }
  }

  async stop(): Promise<void> {
    await this.process?.stop();
  }

  get log(): string {
    return this.process?.output ?? "";
  }
}
