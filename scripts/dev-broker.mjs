#!/usr/bin/env node
// `npm run dev-broker`: a local MQTT/TLS broker to point the host device at, as a developer's own hub would be.
// Makes (once, with openssl) a CA, a server certificate for localhost / 127.0.0.1 / ::1, an RSA-2048 device
// certificate (CN = the device id, clientAuth) and a service certificate for watching, writes a mosquitto
// configuration (TLS, require_certificate, use_identity_as_username, loopback only), prints the exact `npm start`
// line and the commands to watch the device and call a method, then runs mosquitto in the foreground (Ctrl-C
// stops it). Files already made are reused; an expired or missing one is made again.
//
//   npm run dev-broker -- [--port N] [--dir DIR] [--device-id ID] [--no-start]
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { userInfo } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";

const USAGE = `Usage: npm run dev-broker -- [--port N] [--dir DIR] [--device-id ID] [--no-start]

Makes a development CA, a server certificate for localhost, 127.0.0.1 and ::1, a device certificate and key
(RSA-2048, CN = the device id) and a service certificate in DIR (default .dev/broker), writes DIR/mosquitto.conf
(TLS on 127.0.0.1:PORT, client certificates required, the certificate's CN is the user name), prints the npm start
line for the device, then runs mosquitto in the foreground (--no-start: prints its command instead).

  --port N        listen on 127.0.0.1:N (default 8883; when that port is taken, a free one)
  --dir DIR       where the certificates, keys and configuration go (default .dev/broker)
  --device-id ID  the device certificate's CN, the device id (default kisbox-dev-1)
  --no-start      do not run mosquitto, print the command`;

const { values } = parseArgs({
  options: {
    port: { type: "string" },
    dir: { type: "string", default: ".dev/broker" },
    "device-id": { type: "string", default: "kisbox-dev-1" },
    "no-start": { type: "boolean" },
    help: { type: "boolean", short: "h" },
  },
});
if (values.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const fail = (message) => {
  process.stderr.write(`dev-broker: ${message}\n`);
  process.exit(2);
};
const deviceId = values["device-id"];
// IoT Hub's device id characters, minus what a file name or an MQTT topic level cannot hold.
if (!/^[A-Za-z0-9._-]{1,128}$/.test(deviceId) || deviceId === "." || deviceId === "..") fail(`--device-id ${JSON.stringify(deviceId)} is not a usable device id (letters, digits, . _ -)`);
const dir = values.dir;
const at = (name) => path.join(dir, name);

// ---- certificates (openssl) ------------------------------------------------------------------------------------
function openssl(args, input) {
  try {
    return execFileSync("openssl", args, { stdio: ["pipe", "pipe", "pipe"], input });
  } catch (error) {
    if (error.code === "ENOENT") fail("openssl is not installed (apt-get install openssl)");
    throw new Error(`openssl ${args.join(" ")} failed: ${error.stderr?.toString() ?? error.message}`);
  }
}
/** True when the certificate exists, is valid for at least another day and (when given) has this subject CN. */
function usable(cert, cn) {
  if (!existsSync(cert)) return false;
  try {
    openssl(["x509", "-in", cert, "-noout", "-checkend", "86400"]);
  } catch {
    return false;
  }
  if (cn === undefined) return true;
  const subject = openssl(["x509", "-in", cert, "-noout", "-subject", "-nameopt", "RFC2253"]).toString();
  return subject.trim() === `subject=CN=${cn}`;
}
function issue(name, cn, extensions) {
  const key = at(`${name}.key`);
  openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", key]);
  const csr = openssl(["req", "-new", "-key", key, "-subj", `/CN=${cn}`]);
  const ext = at(`${name}.ext`);
  writeFileSync(ext, `${extensions.join("\n")}\n`);
  openssl(["x509", "-req", "-CA", at("ca.pem"), "-CAkey", at("ca.key"), "-set_serial", `0x${BigInt(Date.now()).toString(16)}${Math.floor(Math.random() * 1e6)}`, "-days", "365", "-sha256", "-extfile", ext, "-out", at(`${name}.pem`)], csr);
}

mkdirSync(dir, { recursive: true, mode: 0o700 });
let renewed = false;
if (!usable(at("ca.pem")) || !existsSync(at("ca.key"))) {
  openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", at("ca.key")]);
  openssl(["req", "-x509", "-new", "-key", at("ca.key"), "-subj", "/CN=KIS.ME development broker CA", "-days", "730", "-sha256",
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-out", at("ca.pem")]);
  renewed = true;
}
const leaf = (eku) => ["basicConstraints=critical,CA:FALSE", "keyUsage=critical,digitalSignature,keyEncipherment", `extendedKeyUsage=${eku}`];
if (renewed || !usable(at("server.pem"))) issue("server", "localhost", [...leaf("serverAuth"), "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1"]);
if (renewed || !usable(at("device.pem"), deviceId)) issue("device", deviceId, leaf("clientAuth"));
if (renewed || !usable(at("service.pem"), "dev-service")) issue("service", "dev-service", leaf("clientAuth"));

// ---- the port and the configuration ----------------------------------------------------------------------------
function listenable(port) {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(undefined));
    server.listen(port, "127.0.0.1", () => {
      const bound = server.address().port;
      server.close(() => resolve(bound));
    });
  });
}
let port;
if (values.port !== undefined) {
  port = Number(values.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) fail(`--port takes 1..65535, got ${JSON.stringify(values.port)}`);
  if ((await listenable(port)) === undefined) fail(`127.0.0.1:${port} is in use`);
} else {
  port = (await listenable(8883)) ?? (await listenable(0));
}

const conf = at("mosquitto.conf");
writeFileSync(
  conf,
  [
    "# Written by npm run dev-broker: a development broker on loopback, not for anything else.",
    // Started as root, mosquitto would drop to the 'mosquitto' user, which cannot read the keys here.
    `user ${userInfo().username}`,
    "per_listener_settings false",
    "allow_anonymous false",
    `listener ${port} 127.0.0.1`,
    `cafile ${path.resolve(at("ca.pem"))}`,
    `certfile ${path.resolve(at("server.pem"))}`,
    `keyfile ${path.resolve(at("server.key"))}`,
    "tls_version tlsv1.2",
    "require_certificate true",
    "use_identity_as_username true",
    "persistence false",
    "log_dest stdout",
    "log_type error",
    "log_type warning",
    "log_type notice",
    "log_type information",
    "connection_messages true",
    "",
  ].join("\n"),
);

// ---- what to run -----------------------------------------------------------------------------------------------
const mosquitto = ["/usr/sbin/mosquitto", "/usr/bin/mosquitto", "/usr/local/sbin/mosquitto", "/opt/homebrew/sbin/mosquitto", "/usr/local/opt/mosquitto/sbin/mosquitto"].find((p) => existsSync(p)) ?? "mosquitto";
const tls = `--ca ${at("ca.pem")} --cert ${at("service.pem")} --key ${at("service.key")}`;
const out = (line = "") => process.stdout.write(`${line}\n`);
out(`dev-broker: mosquitto on 127.0.0.1:${port} (TLS, client certificates from ${at("ca.pem")} required, the certificate's CN is the user name)`);
out(`dev-broker: device ${deviceId}: ${at("device.pem")}, ${at("device.key")} (RSA-2048, clientAuth); server certificate for localhost, 127.0.0.1, ::1`);
out("Run the device (another terminal):");
out(`  npm start -- --hub-host localhost --hub 127.0.0.1:${port} --ca ${at("ca.pem")} --cert ${at("device.pem")} --key ${at("device.key")}`);
out("Watch what it sends and the method answers, and call a method (a third terminal):");
out(`  npx mqtt sub -h 127.0.0.1 -p ${port} ${tls} -v -t 'devices/+/messages/events/#' -t '$iothub/methods/res/#'`);
out(`  npx mqtt pub -h 127.0.0.1 -p ${port} ${tls} -t '$iothub/methods/POST/identify/?$rid=1' -m '{"seconds":5}'`);
if (values["no-start"]) {
  out(`Start the broker:\n  ${mosquitto} -c ${conf}`);
  process.exit(0);
}


const child = spawn(mosquitto, ["-c", conf], { stdio: "inherit" });
if (child.pid !== undefined) out(`dev-broker: running ${mosquitto} -c ${conf} (pid ${child.pid}; Ctrl-C stops it)`);
child.on("error", (error) => fail(error.code === "ENOENT" ? "mosquitto is not installed (apt-get install mosquitto; --no-start prints the command)" : error.message));
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => child.kill("SIGTERM"));
child.on("exit", (code, signal) => process.exit(code ?? (signal === "SIGTERM" ? 0 : 1)));
