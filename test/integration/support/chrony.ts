import dgram from "node:dgram";
import { existsSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { OwnedProcess, sleep, tempDir } from "./processes";

const CANDIDATES = ["/usr/sbin/chronyd", "/usr/bin/chronyd", "/sbin/chronyd", "/usr/local/sbin/chronyd"];

export function chronydPath(): string {
  const found = CANDIDATES.find((p) => existsSync(p));
  if (!found) throw new Error("chrony is not installed: run .ci/run, or apt-get install chrony");
  return found;
}

function canBindUdp(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket("udp4");
    socket.once("error", () => {
      socket.close();
      resolve(false);
    });
    socket.bind(port, "127.0.0.1", () => socket.close(() => resolve(true)));
  });
}

/**
 * A free UDP port on 127.0.0.1, below Linux's ephemeral range (32768+), so a client socket's random
 * source port cannot take it while a server is stopped and restarted.
 */
export async function freeUdpPort(): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (await canBindUdp(port)) return port;
  }
  throw new Error("no free UDP port found");
}

/** True if an NTP server answers a client request on 127.0.0.1:port within the timeout. */
export function ntpAnswers(port: number, timeoutMs = 200): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket("udp4");
    const request = Buffer.alloc(48);
    request[0] = 0x23; // LI 0, VN 4, mode 3
    request.writeUInt32BE(0x12345678, 40);
    let done = false;
    const finish = (ok: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.close();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on("error", () => finish(false));
    socket.on("message", (reply) => finish(reply.length >= 48 && (reply[0]! & 7) === 4 && reply.readUInt32BE(24) === 0x12345678));
    socket.send(request, port, "127.0.0.1", (error) => error && finish(false));
  });
}

/**
 * chronyd as a real NTP server on loopback, one process per instance: serving the host's clock
 * (`local stratum 10`, answering at once), never touching it (`-x`), in the foreground (`-d`), with its
 * files in a private temp folder, no command sockets, and stopped by PID.
 */
export class Chrony {
  private process: OwnedProcess | undefined;
  readonly dir = tempDir("chrony");
  readonly configFile = join(this.dir, "chrony.conf");

  private constructor(readonly port: number) {
    writeFileSync(
      this.configFile,
      [
        `port ${port}`,
        "bindaddress 127.0.0.1",
        "allow 127.0.0.1",
        "local stratum 10",
        // No command port and no Unix command socket (the default /run/chrony/chronyd.sock would be shared).
        "cmdport 0",
        "bindcmdaddress /",
        `pidfile ${join(this.dir, "chronyd.pid")}`,
        `driftfile ${join(this.dir, "drift")}`,
        "",
      ].join("\n"),
    );
  }

  static async start(): Promise<Chrony> {
    const server = new Chrony(await freeUdpPort());
    await server.restart();
    return server;
  }

  /**
   * As root, chronyd would drop to the _chrony user, which cannot use this test's private folder:
   * `-u root` keeps it root. As any other user it refuses to start unless `-U` disables that check.
   */
  static args(configFile: string): string[] {
    const root = typeof process.getuid === "function" && process.getuid() === 0;
    return ["-x", "-d", "-f", configFile, ...(root ? ["-u", "root"] : ["-U"])];
  }

  /** (Re)starts on the same port; resolves once it answers NTP requests. */
  async restart(timeoutMs = 10_000): Promise<void> {
    await this.process?.stop();
    const started = OwnedProcess.start(chronydPath(), Chrony.args(this.configFile));
    this.process = started;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!started.running) throw new Error(`chronyd exited during start-up\n${started.output}`);
      if (await ntpAnswers(this.port)) return;
      if (Date.now() > deadline) {
        await started.stop();
        throw new Error(`chronyd did not answer on 127.0.0.1:${this.port} within ${timeoutMs} ms\n${started.output}`);
      }
      await sleep(25);
    }
  }

  async stop(): Promise<void> {
    await this.process?.stop();
  }

  /** Stops for good and removes the temp folder. */
  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  get running(): boolean {
    return this.process?.running ?? false;
  }

  get pid(): number | undefined {
    return this.process?.pid;
  }

  get log(): string {
    return this.process?.output ?? "";
  }
}
