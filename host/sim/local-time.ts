import { spawn, type ChildProcess } from "node:child_process";
import dgram from "node:dgram";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const CHRONYD = ["/usr/sbin/chronyd", "/usr/bin/chronyd", "/sbin/chronyd", "/usr/local/sbin/chronyd"];
/** Seconds from 1900 (NTP's era 0) to 1970. */
const NTP_UNIX_OFFSET = 2_208_988_800;

/** An NTP server on 127.0.0.1 for the device in mcsim, which takes its time only from SNTP. */
export interface LocalTime {
  readonly port: number;
  /** What serves the time, for the start-up lines. */
  readonly description: string;
  close(): Promise<void>;
}

/** chronyd when it is installed (serving the host clock, never setting it), else the host clock over SNTP from this process. */
export async function startLocalTime(): Promise<LocalTime> {
  const chronyd = CHRONYD.find((p) => existsSync(p));
  if (chronyd) {
    try {
      return await startChronyd(chronyd);
    } catch (error) {
      const server = await startHostClockServer();
      return { ...server, description: `${server.description}; chronyd did not start: ${error instanceof Error ? error.message : String(error)}` };
    }
  }
  const server = await startHostClockServer();
  return { ...server, description: `${server.description} (chronyd is not installed)` };
}

function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket("udp4");
    socket.once("error", reject);
    socket.bind(0, "127.0.0.1", () => {
      const port = socket.address().port;
      socket.close(() => resolve(port));
    });
  });
}

/** Whether an NTP server answers a mode-3 request on 127.0.0.1:port. */
function answers(port: number, timeoutMs = 200): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket("udp4");
    const request = Buffer.alloc(48);
    request[0] = 0x23;
    const timer = setTimeout(() => finish(false), timeoutMs);
    function finish(ok: boolean): void {
      clearTimeout(timer);
      socket.close();
      resolve(ok);
    }
    socket.once("error", () => finish(false));
    socket.once("message", (reply) => finish(reply.length >= 48 && (reply[0]! & 7) === 4));
    socket.send(request, port, "127.0.0.1");
  });
}

async function startChronyd(path: string): Promise<LocalTime> {
  const port = await freeUdpPort();
  const dir = mkdtempSync(join(tmpdir(), "kisme-sim-chrony-"));
  const config = join(dir, "chrony.conf");
  // Serves the host clock at stratum 10, answers at once, never touches the clock (-x), no command sockets.
  writeFileSync(config, [`port ${port}`, "bindaddress 127.0.0.1", "allow 127.0.0.1", "local stratum 10", "cmdport 0", "bindcmdaddress /", `pidfile ${join(dir, "chronyd.pid")}`, `driftfile ${join(dir, "drift")}`, ""].join("\n"));
  const root = typeof process.getuid === "function" && process.getuid() === 0;
  const child: ChildProcess = spawn(path, ["-x", "-d", "-f", config, ...(root ? ["-u", "root"] : ["-U"])], { stdio: ["ignore", "ignore", "pipe"] });
  let output = "";
  child.stderr?.on("data", (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.once("error", () => undefined);
  const close = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 10_000;
  while (!(await answers(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await close();
      throw new Error(`chronyd did not answer on 127.0.0.1:${port}: ${output.trim().split("\n").pop() ?? ""}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { port, description: `chronyd on 127.0.0.1:${port} (serving the host clock, never setting it)`, close };
}

function ntpTime(ms: number, out: Buffer, at: number): void {
  const seconds = Math.floor(ms / 1000);
  out.writeUInt32BE((seconds + NTP_UNIX_OFFSET) >>> 0, at);
  out.writeUInt32BE(Math.floor(((ms - seconds * 1000) / 1000) * 2 ** 32) >>> 0, at + 4);
}

/** A minimal SNTP server (RFC 4330, server mode 4) answering with the host clock at stratum 10. */
export async function startHostClockServer(): Promise<LocalTime> {
  const socket = dgram.createSocket("udp4");
  socket.on("message", (request, peer) => {
    if (request.length < 48 || (request[0]! & 7) !== 3) return;
    const received = Date.now();
    const reply = Buffer.alloc(48);
    reply[0] = (request[0]! & 0x38) | 4; // LI 0, the client's version, mode 4
    reply[1] = 10; // stratum
    reply[2] = request[2]!;
    reply[3] = 0xec; // precision 2^-20
    reply.write("LOCL", 12, "latin1");
    ntpTime(received, reply, 16); // reference
    request.copy(reply, 24, 40, 48); // originate = the client's transmit
    ntpTime(received, reply, 32);
    ntpTime(Date.now(), reply, 40);
    socket.send(reply, peer.port, peer.address);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(0, "127.0.0.1", () => resolve());
  });
  const port = socket.address().port;
  return { port, description: `the host clock over SNTP on 127.0.0.1:${port} (this process)`, close: () => new Promise((resolve) => socket.close(() => resolve())) };
}
