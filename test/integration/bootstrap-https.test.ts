import assert from "node:assert/strict";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { TLSSocket } from "node:tls";
import { join } from "node:path";
import { BOOTSTRAP_CACHE_KEY, BootstrapClient, hubAllowedBy, type BootstrapClientOptions, type BootstrapResult } from "../../src/bootstrap/bootstrap-client";
import { DEFAULT_HUB_HOST } from "../../src/bootstrap/bootstrap-contract";
import { EgressPolicy, INTEGRATION_GUIDE_EGRESS, type EgressAttempt } from "../../src/net/egress-policy";
import { GuardedHttpsClient, StaticRoutes } from "../../src/net/guarded-network";
import { scoped } from "../../src/ports/logger";
import { HttpsRequestError, NodeHttpsClient } from "../../host/adapters/node-https";
import { FileStore } from "../../host/adapters/file-store";
import { createCa, issueServer, type Credential } from "../../host/pki/dev-pki";
import { MemoryLogger, TestPki } from "./support/fixture";
import { tempDir } from "./support/processes";

const BOOTSTRAP = "bootstrap.centersightcloud.com";
const DEVICE = "kisbox@it:7";
const DEVICE_PATH = "/api/v1/devices/kisbox%40it%3A7/assignment";

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

interface Seen {
  server: string;
  method: string | undefined;
  url: string | undefined;
  headers: IncomingMessage["headers"];
  clientCn: string | undefined;
}

/** The service as the contract assumes it: answers for the device named in the path. */
const answer: Handler = (req, res) => {
  const id = decodeURIComponent(/^\/api\/v1\/devices\/([^/]+)\/assignment$/.exec(req.url ?? "")?.[1] ?? "");
  res.writeHead(200, { "content-type": "application/json; charset=utf-8" });
  res.end(JSON.stringify({ deviceId: id, hubHostName: "IoTRafi-Prod-IoT-Hub.azure-devices.net", leaseSeconds: 86400 }));
};

const json = (status: number, body: string, contentType = "application/json"): Handler => (_req, res) => {
  res.writeHead(status, { "content-type": contentType });
  res.end(body);
};

describe("Bootstrap over real HTTPS (loopback, mutual TLS, egress policy, file cache)", function () {
  this.timeout(30_000);
  let pki: TestPki;
  let dir: string;
  let device: Credential;
  const servers: Record<string, Server> = {};
  const ports: Record<string, number> = {};
  const seen: Seen[] = [];
  let behave: Handler = answer;
  let logger: MemoryLogger;
  let attempts: EgressAttempt[];

  async function listen(name: string, cred: Credential): Promise<void> {
    const server = createServer(
      { cert: readFileSync(cred.cert), key: readFileSync(cred.key), ca: pki.caPem, requestCert: true, rejectUnauthorized: true },
      (req, res) => {
        const cn = (req.socket as TLSSocket).getPeerCertificate()?.subject?.CN;
        seen.push({ server: name, method: req.method, url: req.url, headers: req.headers, clientCn: Array.isArray(cn) ? cn.join(",") : cn });
        behave(req, res);
      },
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    servers[name] = server;
    ports[name] = (server.address() as AddressInfo).port;
  }

  before(async () => {
    pki = new TestPki();
    device = pki.device(DEVICE);
    await listen("bootstrap", issueServer(pki.ca, [BOOTSTRAP]));
    // Same name, but signed by a CA the device does not trust.
    const stranger = createCa(join(pki.dir, "stranger"), "Stranger Root CA", pki.ca.backend);
    await listen("untrusted", issueServer(stranger, [BOOTSTRAP]));
    // Trusted CA, but the certificate is for localhost/127.0.0.1, not for the bootstrap name.
    await listen("misnamed", issueServer(pki.ca, ["localhost", "127.0.0.1"]));
  });

  after(async () => {
    for (const server of Object.values(servers)) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
    if (pki) rmSync(pki.dir, { recursive: true, force: true });
  });

  beforeEach(() => {
    dir = tempDir("bootstrap");
    seen.length = 0;
    behave = answer;
    logger = new MemoryLogger();
    attempts = [];
  });

  afterEach(function () {
    if (this.currentTest?.state === "failed") process.stdout.write(`--- log ---\n${logger.lines.join("\n")}\n`);
    rmSync(dir, { recursive: true, force: true });
  });

  /** A device whose bootstrap host is routed to the named loopback server; the cache lives in dir/nvs.json. */
  function bootstrapClient(server = "bootstrap", overrides: Partial<BootstrapClientOptions> = {}): BootstrapClient {
    const policy = new EgressPolicy(INTEGRATION_GUIDE_EGRESS, scoped(logger, "egress"));
    policy.onAttempt((a) => attempts.push(a));
    const routes = new StaticRoutes().set(BOOTSTRAP, 443, "tcp", { address: "127.0.0.1", port: ports[server]! });
    return new BootstrapClient({
      https: new GuardedHttpsClient(new NodeHttpsClient(), { policy, routes, clockValid: () => true }),
      store: new FileStore(join(dir, "nvs.json"), { onCorrupt: (reason) => logger.log("warn", "store", reason) }),
      logger: scoped(logger, "bootstrap"),
      firmwareVersion: "0.1.0",
      ca: [pki.caPem],
      client: { certificate: readFileSync(device.cert), key: readFileSync(device.key) },
      allowsHub: hubAllowedBy(policy),
      timeoutMs: 3000,
      ...overrides,
    });
  }

  const cacheFile = (): Record<string, string> => JSON.parse(readFileSync(join(dir, "nvs.json"), "utf8"));
  const cachedRecord = (): string => JSON.stringify({ v: 1, deviceId: DEVICE, hubHostName: DEFAULT_HUB_HOST });

  /** A successful run first (through a fresh client: a new boot), so the file cache holds an assignment. */
  async function seedCache(): Promise<void> {
    const result = await bootstrapClient().resolve(DEVICE);
    assert.equal(result.source, "service");
    seen.length = 0;
  }

  it("fetches the assignment with the documented request and the device certificate, and caches it", async () => {
    const result = await bootstrapClient().resolve(DEVICE);
    assert.deepEqual(result, { deviceId: DEVICE, hubHostName: DEFAULT_HUB_HOST, source: "service" });
    assert.equal(seen.length, 1);
    const request = seen[0]!;
    assert.equal(request.server, "bootstrap");
    assert.equal(request.method, "GET");
    assert.equal(request.url, DEVICE_PATH);
    assert.equal(request.headers.host, BOOTSTRAP);
    assert.equal(request.headers.accept, "application/json");
    assert.equal(request.headers["user-agent"], "kisme-firmware/0.1.0");
    assert.equal(request.clientCn, DEVICE);
    assert.deepEqual(cacheFile(), { [BOOTSTRAP_CACHE_KEY]: cachedRecord() });
    assert.deepEqual(attempts.map((a) => [a.host, a.port, a.allowed]), [[BOOTSTRAP, 443, true]]);
  });

  const FAILURES: ReadonlyArray<{ name: string; server?: string; handler?: Handler; timeoutMs?: number; error: RegExp; reachesServer: boolean }> = [
    { name: "404", handler: json(404, '{"error":"unknown device"}'), error: /^device unknown to bootstrap \(404\)$/, reachesServer: true },
    { name: "500", handler: json(500, "Internal Server Error", "text/plain"), error: /^service error \(500\)$/, reachesServer: true },
    { name: "a timeout (the server accepts but never answers)", handler: () => undefined, timeoutMs: 400, error: /^request failed: timed out after 400 ms/, reachesServer: true },
    { name: "invalid JSON", handler: json(200, '{"deviceId": "kisbox@it:7", "hubHostName": '), error: /^response body is not JSON/, reachesServer: true },
    { name: "a wrong schema", handler: json(200, '{"device":"kisbox@it:7","hub":"iotrafi-prod-iot-hub.azure-devices.net"}'), error: /deviceId is missing/, reachesServer: true },
    { name: "another device's assignment", handler: json(200, '{"deviceId":"kisbox-8","hubHostName":"iotrafi-prod-iot-hub.azure-devices.net"}'), error: /for device "kisbox-8"/, reachesServer: true },
    { name: "a hub outside the egress table", handler: json(200, '{"deviceId":"kisbox@it:7","hubHostName":"evil.example.com"}'), error: /evil\.example\.com is not allowed by the egress table for MQTT\/TLS 8883/, reachesServer: true },
    {
      name: "an over-size body (chunked)",
      handler: (_req, res) => {
        res.writeHead(200, { "content-type": "application/json" });
        for (let i = 0; i < 10; i++) res.write(" ".repeat(1024));
        res.end("{}");
      },
      error: /^request failed: response body exceeds 4096 bytes/,
      reachesServer: true,
    },
    { name: "an over-size body (Content-Length)", handler: json(200, " ".repeat(5000) + "{}"), error: /^request failed: response body exceeds 4096 bytes/, reachesServer: true },
    { name: "an untrusted server certificate", server: "untrusted", error: /^request failed: UNABLE_TO_VERIFY_LEAF_SIGNATURE/, reachesServer: false },
    { name: "a certificate for another name", server: "misnamed", error: /^request failed: ERR_TLS_CERT_ALTNAME_INVALID/, reachesServer: false },
  ];

  for (const failure of FAILURES) {
    it(`falls back to the cached assignment on ${failure.name}`, async () => {
      await seedCache();
      behave = failure.handler ?? answer;
      const result: BootstrapResult = await bootstrapClient(failure.server, failure.timeoutMs ? { timeoutMs: failure.timeoutMs } : {}).resolve(DEVICE);
      assert.equal(result.source, "cache");
      assert.equal(result.hubHostName, DEFAULT_HUB_HOST);
      assert.equal(result.deviceId, DEVICE);
      assert.match(result.error ?? "", failure.error);
      assert.equal(result.cacheError, undefined);
      assert.deepEqual(cacheFile(), { [BOOTSTRAP_CACHE_KEY]: cachedRecord() }, "the cache changed");
      assert.equal(seen.length, failure.reachesServer ? 1 : 0);
      if (failure.reachesServer) assert.equal(seen[0]!.clientCn, DEVICE);
      assert.ok(logger.lines.some((l) => l.includes("bootstrap failed")), "the reason is logged");
    });

    it(`falls back to the default hub on ${failure.name} when nothing is cached`, async () => {
      behave = failure.handler ?? answer;
      const result = await bootstrapClient(failure.server, failure.timeoutMs ? { timeoutMs: failure.timeoutMs } : {}).resolve(DEVICE);
      assert.equal(result.source, "default");
      assert.equal(result.hubHostName, DEFAULT_HUB_HOST);
      assert.equal(result.deviceId, DEVICE);
      assert.match(result.error ?? "", failure.error);
      assert.throws(() => readFileSync(join(dir, "nvs.json")), /ENOENT/, "nothing may be cached");
    });
  }

  it("ignores and reports a corrupt cache file, using the default hub", async () => {
    await seedCache();
    writeFileSync(join(dir, "nvs.json"), JSON.stringify({ [BOOTSTRAP_CACHE_KEY]: "{not json" }));
    behave = json(503, "");
    const result = await bootstrapClient().resolve(DEVICE);
    assert.deepEqual([result.source, result.error], ["default", "service error (503)"]);
    assert.match(result.cacheError ?? "", /cache corrupt/);
  });

  it("never connects to a bootstrap host outside the egress table", async () => {
    const result = await bootstrapClient("bootstrap", { host: "bootstrap.example.com" }).resolve(DEVICE);
    assert.equal(result.source, "default");
    assert.match(result.error ?? "", /egress refused: tcp bootstrap\.example\.com:443/);
    assert.equal(seen.length, 0);
    assert.deepEqual(attempts.map((a) => [a.host, a.allowed]), [["bootstrap.example.com", false]]);
  });

  it("the server refuses a connection without a client certificate (mutual TLS is real)", async () => {
    await assert.rejects(
      new NodeHttpsClient().request({
        host: BOOTSTRAP,
        port: 443,
        route: { address: "127.0.0.1", port: ports["bootstrap"]! },
        method: "GET",
        path: DEVICE_PATH,
        ca: [pki.caPem],
        timeoutMs: 3000,
        maxBodyBytes: 4096,
      }),
      HttpsRequestError,
    );
    assert.equal(seen.length, 0);
  });
});
