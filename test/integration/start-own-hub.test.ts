import assert from "node:assert/strict";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { createSocket, type Socket } from "node:dgram";
import { readFileSync, writeFileSync } from "node:fs";
import { connect, createServer, type Server } from "node:net";
import { join } from "node:path";
import { EUROPE_POOL } from "../../src/time/sntp-client";
import { OwnedProcess, tempDir, waitFor } from "./support/processes";
import { mosquittoPath } from "./support/mosquitto";
import { runStartCli, withStartCli } from "./support/start-cli";

const ROOT = join(__dirname, "../../..");
const MQTT_BIN = join(ROOT, "node_modules/mqtt/build/bin/mqtt.js");

/** The README's local-broker recipe: the commands of the sh block under "### A local broker". */
function readmeRecipe(): string[] {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const at = readme.indexOf("### A local broker");
  assert.ok(at > 0, "README has the section ### A local broker");
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(at))?.[1];
  assert.ok(block, "the section has a sh block");
  return block.split("\n").map((line) => line.trim()).filter((line) => line && !line.startsWith("#"));
}

/** Shell words as the recipe writes them: separated by spaces, single-quoted strings kept whole. */
function words(line: string): string[] {
  const out: string[] = [];
  for (const m of line.matchAll(/'([^']*)'|(\S+)/g)) out.push(m[1] ?? m[2]!);
  return out;
}

/** `npm run dev-broker [-- args]` → the script package.json names, run in `cwd` (npm would run it in the repository). */
function devBrokerCommand(line: string): string[] {
  const w = words(line);
  assert.deepEqual(w.slice(0, 3), ["npm", "run", "dev-broker"]);
  const script = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts["dev-broker"];
  assert.equal(script, "node scripts/dev-broker.mjs");
  return [join(ROOT, "scripts/dev-broker.mjs"), ...(w[3] === "--" ? w.slice(4) : w.slice(3))];
}

/** `npx mqtt …` → MQTT.js's command line tool (the one npx runs from node_modules/.bin). */
function mqttArgs(line: string): string[] {
  const w = words(line);
  assert.deepEqual(w.slice(0, 2), ["npx", "mqtt"]);
  return w.slice(2);
}

/** `npm start -- …` → the arguments start.js gets. */
function startArgs(line: string): string[] {
  const w = words(line);
  assert.deepEqual(w.slice(0, 3), ["npm", "start", "--"]);
  return w.slice(3);
}

/** Runs `npm run dev-broker` in `cwd` until it says mosquitto runs; stop() ends it and its mosquitto, by PID. */
async function startDevBroker(cwd: string, args: string[]): Promise<{ port: number; printed: string[]; stop: () => Promise<void>; readonly output: string }> {
  mosquittoPath(); // a clear failure when mosquitto is missing
  const broker = new OwnedProcess(spawn(process.execPath, args, { cwd, stdio: ["ignore", "pipe", "pipe"] }));
  try {
    await waitFor(() => /running .* \(pid \d+;/.test(broker.output) || !broker.running, "dev-broker to start mosquitto", 30_000);
    assert.ok(broker.running, broker.output);
    // mosquitto is up once it accepts connections (it logs nothing before that on a pipe).
    const port = Number(/mosquitto on 127\.0\.0\.1:(\d+)/.exec(broker.output)![1]);
    await waitForTcp(port);
  } catch (error) {
    process.stdout.write(`--- dev-broker output ---\n${broker.output}\n`);
    await broker.stop();
    throw error;
  }
  const mosquittoPid = Number(/\(pid (\d+);/.exec(broker.output)![1]);
  return {
    port: Number(/mosquitto on 127\.0\.0\.1:(\d+)/.exec(broker.output)![1]),
    printed: broker.output.split("\n").filter((l) => l.startsWith("  ")).map((l) => l.trim()),
    get output() {
      return broker.output;
    },
    stop: async () => {
      await broker.stop();
      try {
        process.kill(mosquittoPid, "SIGKILL"); // only if dev-broker could not stop it
      } catch {
        // already gone
      }
    },
  };
}

async function waitForTcp(port: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, "127.0.0.1", () => {
        s.destroy();
        resolve(true);
      });
      s.on("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * The README's "A local broker" recipe, run as written: `npm run dev-broker` makes the certificates and runs
 * mosquitto (TLS, require_certificate, use_identity_as_username), `npm start -- --hub-host localhost …` brings the
 * firmware online against it, `npx mqtt sub` (MQTT.js as the service side) sees a press arrive, and
 * `npx mqtt pub` calls a direct method whose answer arrives at the subscriber.
 */
describe("README: a local broker with --hub-host localhost (npm run dev-broker)", function () {
  this.timeout(90_000);
  let cwd: string;
  let broker: Awaited<ReturnType<typeof startDevBroker>> | undefined;
  const children: ChildProcess[] = [];

  after(async () => {
    for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
    await broker?.stop();
  });

  it("the recipe's commands: online, a press at the broker, a method answered", async () => {
    const recipe = readmeRecipe();
    assert.equal(recipe.length, 4, recipe.join("\n"));
    cwd = tempDir("dev-broker");
    broker = await startDevBroker(cwd, devBrokerCommand(recipe[0]!));
    // dev-broker prints the other commands with the port it took (8883 unless taken): the README's, port aside.
    const lines = recipe.slice(1).map((line) => line.replaceAll("8883", String(broker!.port)));
    assert.deepEqual(broker.printed.filter((l) => l.startsWith("npm start") || l.startsWith("npx mqtt")), lines);

    let watched = "";
    const sub = spawn(process.execPath, [MQTT_BIN, ...mqttArgs(lines[1]!)], { cwd, stdio: ["ignore", "pipe", "pipe"] });
    children.push(sub);
    sub.stdout.on("data", (d: Buffer) => (watched += d.toString()));
    sub.stderr.on("data", (d: Buffer) => (watched += d.toString()));

    const out = await withStartCli(cwd, startArgs(lines[0]!), async (cli) => {
      await cli.until(/boot: online \(hub localhost, set for this run, no bootstrap\)/, "the device online at the local broker", 20_000);
      // The subscriber may still be connecting: press until a press arrives (each press is its own event).
      for (let i = 0; i < 10 && !/Button_pressed/.test(watched); i++) {
        cli.send("1");
        await waitFor(() => /Button_pressed/.test(watched), "a press at the subscriber", 2000).catch(() => undefined);
      }
      assert.match(watched, /^devices\/kisbox-dev-1\/messages\/events\/\S*event=Button_pressed \{"Button_pressed":\{"button":1,"gesture":"short"/m);
      await cli.until(/button 1: Button_pressed delivered \(PUBACK\)/, "the PUBACK");
      execFileSync(process.execPath, [MQTT_BIN, ...mqttArgs(lines[2]!)], { cwd, timeout: 20_000 });
      await waitFor(() => /\$iothub\/methods\/res\/200\/\?\$rid=1 \{"seconds":5\}/.test(watched), "the method's answer at the subscriber", 20_000);
      await cli.until(/button 1 LED → ● white blink 500 ms/, "identify blinking the LEDs");
    }).catch((error: unknown) => {
      process.stdout.write(`--- mqtt sub ---\n${watched}\n--- dev-broker ---\n${broker?.output ?? ""}\n`);
      throw error;
    });
    assert.match(out, /development egress rule added: outside the integration guide's table, for this run only host=localhost port=8883/);
    assert.doesNotMatch(out, /boot: bootstrap/);
    assert.match(out, new RegExp(`state ${join(cwd, ".dev/kisbox-dev-1").replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}`));
  });
});

/** A CA of its own (openssl) and a certificate from it, for what the broker's CA did not issue. */
function openssl(cwd: string, ...args: string[]): void {
  execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
}

function caConfig(cwd: string): string {
  writeFileSync(join(cwd, "index.txt"), "");
  writeFileSync(join(cwd, "serial"), "1000\n");
  writeFileSync(
    join(cwd, "ca.cnf"),
    `[ ca ]\ndefault_ca = c\n[ c ]\ndir = ${cwd}\ndatabase = ${cwd}/index.txt\nnew_certs_dir = ${cwd}\nserial = ${cwd}/serial\npolicy = p\nunique_subject = no\ndefault_md = sha256\n[ p ]\ncommonName = supplied\n[ client ]\nextendedKeyUsage = clientAuth\n`,
  );
  return join(cwd, "ca.cnf");
}

describe("npm start --hub-host: credentials checked before any connection", function () {
  this.timeout(60_000);
  let dir: string;
  let listener: Server;
  let port: number;
  let connections = 0;

  before(async () => {
    dir = tempDir("credentials");
    // The broker's files, without running it: the hub here is a TCP listener that counts who comes.
    execFileSync(process.execPath, [join(ROOT, "scripts/dev-broker.mjs"), "--no-start"], { cwd: dir, stdio: "ignore" });
    const b = join(dir, ".dev/broker");
    const conf = caConfig(b);
    openssl(b, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "ec.key");
    openssl(b, "req", "-new", "-key", "ec.key", "-subj", "/CN=box-ec", "-out", "ec.csr");
    openssl(b, "ca", "-batch", "-config", conf, "-notext", "-cert", "ca.pem", "-keyfile", "ca.key", "-days", "30", "-extensions", "client", "-in", "ec.csr", "-out", "ec.pem");
    openssl(b, "req", "-new", "-key", "device.key", "-subj", "/CN=box-old", "-out", "old.csr");
    openssl(b, "ca", "-batch", "-config", conf, "-notext", "-cert", "ca.pem", "-keyfile", "ca.key", "-startdate", "20200101000000Z", "-enddate", "20210101000000Z", "-extensions", "client", "-in", "old.csr", "-out", "expired.pem");
    listener = createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
    port = (listener.address() as { port: number }).port;
  });

  after(() => listener?.close());

  const run = (args: string[]) => runStartCli(dir, ["--hub-host", "localhost", "--hub", `127.0.0.1:${port}`, ...args]);
  const refused = (args: string[], message: RegExp): void => {
    const result = run(args);
    assert.equal(result.status, 2, `exit code (stderr: ${result.stderr})`);
    assert.match(result.stderr, message);
    assert.equal(connections, 0, "nothing connected to the hub");
    assert.doesNotMatch(result.stdout, /boot:/, "the device never started");
  };
  const b = (name: string): string => `.dev/broker/${name}`;

  it("a key that does not belong to the certificate: exit 2 with the reason", () => {
    refused(["--ca", b("ca.pem"), "--cert", b("device.pem"), "--key", b("service.key")], /^error: the device key does not belong to the device certificate/m);
  });

  it("an EC key: exit 2, the device signs with RSA-2048 only", () => {
    refused(["--ca", b("ca.pem"), "--cert", b("ec.pem"), "--key", b("ec.key")], /^error: the device key is an EC key \(P-256\): the device signs its TLS handshake with RSA-2048 keys only/m);
  });

  it("an expired certificate: exit 2 with its end date", () => {
    refused(["--ca", b("ca.pem"), "--cert", b("expired.pem"), "--key", b("device.key")], /^error: the device certificate expired on 2021-01-01T00:00:00\.000Z/m);
  });

  it("no --ca for a hub that is not Azure's: exit 2, asking for it", () => {
    refused(["--cert", b("device.pem"), "--key", b("device.key")], /^error: the hub localhost is not an Azure IoT Hub name \(\*\.azure-devices\.net\), .*give its CA with --ca FILE/m);
  });

  it("a missing file: exit 2 naming the flag", () => {
    refused(["--ca", b("ca.pem"), "--cert", b("nothing.pem"), "--key", b("device.key")], /^error: --cert \.dev\/broker\/nothing\.pem: no such file/m);
  });
});

describe("npm start --hub-host: a TLS failure that cannot heal is said so", function () {
  this.timeout(60_000);
  let cwd: string;
  let broker: Awaited<ReturnType<typeof startDevBroker>> | undefined;

  before(async () => {
    cwd = tempDir("tls-failure");
    broker = await startDevBroker(cwd, [join(ROOT, "scripts/dev-broker.mjs"), "--port", String(await freeTcpPort())]);
    const other = join(cwd, "other");
    execFileSync("mkdir", ["-p", other]);
    openssl(other, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-subj", "/CN=Another CA", "-days", "30", "-addext", "basicConstraints=critical,CA:TRUE", "-out", "ca.pem");
  });

  after(async () => broker?.stop());

  const expectPermanent = async (args: string[], pattern: RegExp): Promise<void> => {
    const credentials = args.includes("--cert") ? [] : ["--cert", ".dev/broker/device.pem", "--key", ".dev/broker/device.key"];
    const out = await withStartCli(cwd, ["--hub", `127.0.0.1:${broker!.port}`, ...credentials, ...args], async (cli) => {
      await cli.until(pattern, "the error line", 20_000);
      await new Promise((r) => setTimeout(r, 1500)); // a retry or two: said once, not per attempt
    });
    assert.equal(out.match(/will not heal by retrying/g)?.length, 1, out);
    assert.doesNotMatch(out, /boot: online/);
  };

  it("a hub whose certificate the given --ca does not trust", async () => {
    await expectPermanent(["--hub-host", "localhost", "--ca", "other/ca.pem"], /^error: the hub's certificate is not trusted by the given roots \(--ca\): .* — this will not heal by retrying/m);
  });

  it("a device certificate the hub's CA did not issue", async () => {
    const other = join(cwd, "other");
    openssl(other, "req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", "device.key", "-subj", "/CN=box-stranger", "-out", "device.csr");
    openssl(other, "x509", "-req", "-in", "device.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-set_serial", "7", "-days", "30", "-out", "device.pem");
    await expectPermanent(["--hub-host", "localhost", "--ca", ".dev/broker/ca.pem", "--cert", "other/device.pem", "--key", "other/device.key"], /^error: the hub refused the device's certificate: .*alert unknown ca.* — this will not heal by retrying/m);
  });

  for (const host of ["127.0.0.1", "::1"]) {
    it(`an IP address as --hub-host (${host}): online, its name checked against the certificate's iPAddress entries`, async () => {
      await withStartCli(cwd, ["--hub-host", host, "--hub", `127.0.0.1:${broker!.port}`, "--ca", ".dev/broker/ca.pem", "--cert", ".dev/broker/device.pem", "--key", ".dev/broker/device.key"], async (cli) => {
        await cli.until(new RegExp(`boot: online \\(hub ${host.replace(/\./g, "\\.")}, set for this run, no bootstrap\\)`), "online", 20_000);
      });
    });
  }

  it("a hub whose certificate is not for the --hub-host name", async () => {
    await expectPermanent(["--hub-host", "broker", "--ca", ".dev/broker/ca.pem"], /^error: the hub's certificate is not for this host name \(--hub-host\): .* — this will not heal by retrying/m);
  });
});

async function freeTcpPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * One --ntp serves all four pool names: an NTP server that answers every request with a kiss-o'-death (DENY), so the
 * client fails over through all four names at once. Every name must reach it, and no pool name may be looked up in
 * DNS (a preloaded hook prints every dns.lookup the process makes).
 */
describe("npm start --ntp given once", function () {
  this.timeout(30_000);
  let server: Socket;
  let port: number;
  let requests = 0;

  before(async () => {
    server = createSocket("udp4");
    server.on("message", (msg, from) => {
      requests++;
      const reply = Buffer.alloc(48);
      reply[0] = (3 << 6) | (4 << 3) | 4; // LI 3, VN 4, mode 4 (server)
      reply[1] = 0; // stratum 0: kiss-o'-death
      reply.write("DENY", 12, "ascii");
      msg.copy(reply, 24, 40, 48); // originate = the request's transmit timestamp
      server.send(reply, from.port, from.address);
    });
    await new Promise<void>((resolve) => server.bind(0, "127.0.0.1", resolve));
    port = server.address().port;
  });

  after(() => server?.close());

  it("routes all four pool names to it, with no DNS look-up of a pool name", async () => {
    const cwd = tempDir("ntp-once");
    const hook = join(cwd, "dns-hook.cjs");
    writeFileSync(hook, `const dns = require("node:dns"); const lookup = dns.lookup; dns.lookup = function (host, ...rest) { process.stderr.write("dns lookup: " + host + "\\n"); return lookup.call(this, host, ...rest); };\n`);
    const out = await withStartCli(cwd, ["--ntp", `127.0.0.1:${port}`], async (cli) => {
      await cli.until(new RegExp(EUROPE_POOL.map((name) => `(?=[\\s\\S]*NTP server failed server=${name.replace(/\./g, "\\.")} kind=kiss)`).join(""), ""), "a kiss from every pool name", 15_000);
    }, { nodeArgs: ["--require", hook] });
    assert.match(out, new RegExp(`time: SNTP against ${EUROPE_POOL.map((name) => `${name.replace(/\./g, "\\.")} → 127\\.0\\.0\\.1:${port}`).join(", ")}`));
    assert.ok(requests >= 4, `requests: ${requests}`);
    assert.match(out, /dns lookup: 127\.0\.0\.1/, "the hook sees the look-ups the process makes");
    assert.doesNotMatch(out, /dns lookup: \S*pool\.ntp\.org/);
    assert.doesNotMatch(out, /ENOTFOUND|send failed/);
  });
});

/** What `npm start` prints into a pipe: plain text, the banner first, a clean quit without a warning. */
describe("npm start output on a pipe", function () {
  this.timeout(30_000);

  it("has no escape codes, starts with the banner, skips no phase it prints, and quits at info level", async () => {
    const cwd = tempDir("start-pipe");
    const env: NodeJS.ProcessEnv = { ...process.env, FORCE_COLOR: "1" };
    delete env["NO_COLOR"];
    const out = await withStartCli(cwd, ["--log-level", "info"], async (cli) => {
      await cli.until(/boot: online/, "online", 15_000);
      cli.send("1");
      await cli.until(/delivered \(PUBACK\)/, "a delivery", 10_000);
    }, { env });
    assert.doesNotMatch(out, /\x1b/, "no escape codes on a pipe");
    assert.match(out.split("\n")[0]!, /^KIS\.BOX simulation: device kisbox-sim-1, firmware 0\.1\.0, hub .*state .*\.dev\/kisbox-sim-1$/);
    assert.ok(out.indexOf("KIS.BOX simulation") < out.indexOf("LED →"), "the banner before the first LED line");
    assert.match(out, /boot: online \(hub iotrafi-prod-iot-hub\.azure-devices\.net, assigned by the bootstrap service\)/);
    assert.match(out, /info  \[hub\] disconnected reason=/);
    assert.doesNotMatch(out, /warn  \[hub\] disconnected/);
    assert.doesNotMatch(out, /^\S+ warn /m, "nothing to warn about in a clean run");
  });
});
