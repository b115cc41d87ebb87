import assert from "../support/assert";
import { BOOTSTRAP_CACHE_KEY, BootstrapClient, hubAllowedBy, type BootstrapClientOptions, type BootstrapResult } from "../../src/bootstrap/bootstrap-client";
import { DEFAULT_HUB_HOST } from "../../src/bootstrap/bootstrap-contract";
import { EgressDeniedError, EgressPolicy, INTEGRATION_GUIDE_EGRESS, type EgressRule } from "../../src/net/egress-policy";
import { MemoryStore, type KeyValueStore } from "../../src/ports/storage";
import { scoped, type LogFields, type LogLevel } from "../../src/ports/logger";
import { utf8 } from "../../src/core/bytes";
import { FakeHttps, jsonResponse, textResponse } from "../support/fake-https";
import { ManualClock } from "../support/manual-clock";

const DEVICE = "box-0042";
const CACHED_HUB = "kisme-eu-2.azure-devices.net";
const NEW_HUB = "kisme-eu-3.azure-devices.net";
// The guide's table plus two more hubs, as a future firmware might carry them.
const RULES: readonly EgressRule[] = [
  ...INTEGRATION_GUIDE_EGRESS,
  { host: CACHED_HUB, port: 8883, transport: "tcp", purpose: "test hub" },
  { host: NEW_HUB, port: 8883, transport: "tcp", purpose: "test hub" },
];

interface Entry {
  level: LogLevel;
  message: string;
  fields?: LogFields;
}

/** Counts writes, and can be told to fail. */
class CountingStore implements KeyValueStore {
  readonly inner = new MemoryStore();
  writes = 0;
  failGet = false;
  failSet = false;
  get(key: string): string | undefined {
    if (this.failGet) throw new Error("flash read error");
    return this.inner.get(key);
  }
  set(key: string, value: string): void {
    if (this.failSet) throw new Error("flash write error");
    this.writes++;
    this.inner.set(key, value);
  }
  delete(key: string): void {
    this.inner.delete(key);
  }
}

const record = (hub: string, deviceId = DEVICE) => JSON.stringify({ v: 1, deviceId, hubHostName: hub });

function setup(overrides: Partial<BootstrapClientOptions> = {}) {
  const https = new FakeHttps();
  const store = new CountingStore();
  const logs: Entry[] = [];
  const logger = scoped({ log: (level, _scope, message, fields) => logs.push({ level, message, ...(fields ? { fields } : {}) }) }, "bootstrap");
  const policy = new EgressPolicy(RULES, scoped({ log() {} }, "egress"));
  const options: BootstrapClientOptions = {
    https,
    store,
    logger,
    firmwareVersion: "1.2.3",
    ca: [utf8("root-ca")],
    client: { certificate: utf8("device-cert"), key: utf8("device-key") },
    allowsHub: hubAllowedBy(policy),
    ...overrides,
  };
  const client = new BootstrapClient(options);
  const cache = (value: string) => store.inner.set(BOOTSTRAP_CACHE_KEY, value);
  const cached = () => store.inner.get(BOOTSTRAP_CACHE_KEY);
  return { https, store, logs, client, cache, cached };
}

const assigned = (hub: string, deviceId = DEVICE) => jsonResponse(200, { deviceId, hubHostName: hub });

/** Every way the service's answer can be unusable, with the reason the result must carry. */
const FAILURES: ReadonlyArray<{ name: string; reply: Error | ReturnType<typeof jsonResponse>; error: RegExp }> = [
  { name: "network error", reply: new Error("ECONNREFUSED: connect refused"), error: /^request failed: ECONNREFUSED/ },
  { name: "TLS error", reply: new Error("unable to verify the first certificate"), error: /^request failed: unable to verify/ },
  { name: "adapter timeout", reply: new Error("timed out after 5000 ms"), error: /^request failed: timed out/ },
  { name: "egress refused", reply: new EgressDeniedError("bootstrap.centersightcloud.com", 443, "tcp"), error: /egress refused/ },
  { name: "404", reply: jsonResponse(404, { error: "not found" }), error: /^device unknown to bootstrap \(404\)$/ },
  { name: "403", reply: jsonResponse(403, {}), error: /^device not authorized by bootstrap \(403\)$/ },
  { name: "500", reply: textResponse(500, "oops", {}), error: /^service error \(500\)$/ },
  { name: "503", reply: textResponse(503, "", {}), error: /^service error \(503\)$/ },
  { name: "302 redirect", reply: textResponse(302, "", { location: "https://evil.example.com/" }), error: /^redirect not followed \(302\)$/ },
  { name: "invalid JSON", reply: textResponse(200, "{\"deviceId\": "), error: /^response body is not JSON/ },
  { name: "wrong media type", reply: textResponse(200, "<html/>", { "content-type": "text/html" }), error: /Content-Type/ },
  { name: "wrong schema", reply: jsonResponse(200, { device: DEVICE, hub: NEW_HUB }), error: /deviceId is missing/ },
  { name: "another device's assignment", reply: assigned(NEW_HUB, "box-0043"), error: /for device "box-0043"/ },
  { name: "hub outside the egress table", reply: assigned("evil.example.com"), error: /evil\.example\.com is not allowed by the egress table/ },
  { name: "hub that is no DNS name", reply: assigned("10.0.0.1"), error: /not a valid DNS host name/ },
];

describe("BootstrapClient", () => {
  it("asks the service with the contract's request, the pinned roots, the client certificate and the limits", async () => {
    const t = setup();
    t.https.reply(assigned(NEW_HUB));
    await t.client.resolve("box:42");
    assert.equal(t.https.requests.length, 1);
    const r = t.https.requests[0]!;
    assert.equal(r.host, "bootstrap.centersightcloud.com");
    assert.equal(r.port, 443);
    assert.equal(r.method, "GET");
    assert.equal(r.path, "/api/v1/devices/box%3A42/assignment");
    assert.deepEqual(r.headers, { Accept: "application/json", "User-Agent": "kisme-firmware/1.2.3" });
    assert.deepEqual(r.ca, [utf8("root-ca")]);
    assert.deepEqual(r.client, { certificate: utf8("device-cert"), key: utf8("device-key") });
    assert.equal(r.timeoutMs, 10_000);
    assert.equal(r.maxBodyBytes, 4096);
    assert.equal(r.body, undefined);
    assert.equal(r.route, undefined);
  });

  it("uses the configured host, port, timeout and body limit", async () => {
    const t = setup({ host: "connect.centersightcloud.com", port: 8443, timeoutMs: 1500, maxBodyBytes: 512 });
    t.https.reply(assigned(NEW_HUB));
    await t.client.resolve(DEVICE);
    const r = t.https.requests[0]!;
    assert.deepEqual([r.host, r.port, r.timeoutMs, r.maxBodyBytes], ["connect.centersightcloud.com", 8443, 1500, 512]);
  });

  it("returns the service's assignment and caches it as a versioned record", async () => {
    const t = setup();
    t.https.reply(assigned(NEW_HUB.toUpperCase()));
    const result = await t.client.resolve(DEVICE);
    assert.deepEqual(result, { deviceId: DEVICE, hubHostName: NEW_HUB, source: "service" });
    assert.equal(t.cached(), record(NEW_HUB));
    assert.ok(BOOTSTRAP_CACHE_KEY.length <= 15);
    assert.ok(t.logs.some((e) => e.level === "info" && e.fields?.["hub"] === NEW_HUB));
  });

  it("rewrites the cache only when the assignment changed", async () => {
    const t = setup();
    t.https.reply(assigned(NEW_HUB), assigned(NEW_HUB), assigned(CACHED_HUB));
    await t.client.resolve(DEVICE);
    await t.client.resolve(DEVICE);
    assert.equal(t.store.writes, 1);
    await t.client.resolve(DEVICE);
    assert.equal(t.store.writes, 2);
    assert.equal(t.cached(), record(CACHED_HUB));
  });

  for (const failure of FAILURES) {
    it(`falls back to the cache on ${failure.name}, leaving the cache as it was`, async () => {
      const t = setup();
      t.cache(record(CACHED_HUB));
      t.https.reply(failure.reply);
      const result = await t.client.resolve(DEVICE);
      assert.equal(result.source, "cache");
      assert.equal(result.hubHostName, CACHED_HUB);
      assert.equal(result.deviceId, DEVICE);
      assert.match(result.error ?? "", failure.error);
      assert.equal(result.cacheError, undefined);
      assert.equal(t.cached(), record(CACHED_HUB));
      assert.equal(t.store.writes, 0);
      assert.ok(t.logs.some((e) => e.level === "warn" && e.message === "bootstrap failed" && e.fields?.["reason"] === result.error), "reason logged");
    });

    it(`falls back to the default hub on ${failure.name} when nothing is cached`, async () => {
      const t = setup();
      t.https.reply(failure.reply);
      const result = await t.client.resolve(DEVICE);
      assert.equal(result.source, "default");
      assert.equal(result.hubHostName, DEFAULT_HUB_HOST);
      assert.equal(result.deviceId, DEVICE);
      assert.match(result.error ?? "", failure.error);
      assert.equal(result.cacheError, undefined);
      assert.equal(t.cached(), undefined);
    });
  }

  it("updates the cache only from valid responses", async () => {
    const t = setup();
    t.https.reply(assigned(CACHED_HUB), assigned("evil.example.com"), textResponse(200, "{"), assigned(NEW_HUB, "box-0043"), jsonResponse(500, { hubHostName: NEW_HUB }));
    assert.equal((await t.client.resolve(DEVICE)).source, "service");
    for (let i = 0; i < 4; i++) {
      const result = await t.client.resolve(DEVICE);
      assert.deepEqual([result.source, result.hubHostName], ["cache", CACHED_HUB]);
      assert.equal(t.cached(), record(CACHED_HUB));
    }
    t.https.reply(assigned(NEW_HUB));
    assert.deepEqual(await t.client.resolve(DEVICE), { deviceId: DEVICE, hubHostName: NEW_HUB, source: "service" });
    assert.equal(t.cached(), record(NEW_HUB));
    assert.equal(t.store.writes, 2);
  });

  const CORRUPT: ReadonlyArray<{ name: string; value: string; cacheError: RegExp }> = [
    { name: "not JSON", value: "{\"v\":1,\"deviceId\"", cacheError: /cache corrupt: not JSON/ },
    { name: "not an object", value: "42", cacheError: /not a version 1 record/ },
    { name: "null", value: "null", cacheError: /not a version 1 record/ },
    { name: "another version", value: JSON.stringify({ v: 2, deviceId: DEVICE, hubHostName: CACHED_HUB }), cacheError: /not a version 1 record/ },
    { name: "no version", value: JSON.stringify({ deviceId: DEVICE, hubHostName: CACHED_HUB }), cacheError: /not a version 1 record/ },
    { name: "a missing host", value: JSON.stringify({ v: 1, deviceId: DEVICE }), cacheError: /hubHostName is missing/ },
    { name: "another device's record", value: record(CACHED_HUB, "box-0043"), cacheError: /for device "box-0043"/ },
    { name: "a hub no longer in the egress table", value: record("old-hub.example.com"), cacheError: /not allowed by the egress table/ },
    { name: "an invalid host", value: record("evil.example.com:8883"), cacheError: /not a valid DNS host name/ },
  ];
  for (const corrupt of CORRUPT) {
    it(`ignores and reports a cached record with ${corrupt.name}, using the default hub`, async () => {
      const t = setup();
      t.cache(corrupt.value);
      t.https.reply(jsonResponse(503, {}));
      const result = await t.client.resolve(DEVICE);
      assert.deepEqual([result.source, result.hubHostName, result.deviceId], ["default", DEFAULT_HUB_HOST, DEVICE]);
      assert.equal(result.error, "service error (503)");
      assert.match(result.cacheError ?? "", corrupt.cacheError);
      assert.ok(t.logs.some((e) => e.level === "warn" && e.message === "cached hub assignment ignored" && e.fields?.["reason"] === result.cacheError), "reported");
    });
  }

  it("replaces a corrupt cache with the next valid answer", async () => {
    const t = setup();
    t.cache("garbage");
    t.https.reply(assigned(NEW_HUB));
    assert.equal((await t.client.resolve(DEVICE)).source, "service");
    assert.equal(t.cached(), record(NEW_HUB));
  });

  it("still uses the service's answer when the cache cannot be written, and says so", async () => {
    const t = setup();
    t.store.failSet = true;
    t.https.reply(assigned(NEW_HUB));
    const result = await t.client.resolve(DEVICE);
    assert.deepEqual([result.source, result.hubHostName], ["service", NEW_HUB]);
    assert.match(result.cacheError ?? "", /cache not written: flash write error/);
  });

  it("survives a cache that cannot be read", async () => {
    const t = setup();
    t.store.failGet = true;
    t.https.reply(new Error("offline"));
    const result = await t.client.resolve(DEVICE);
    assert.deepEqual([result.source, result.hubHostName], ["default", DEFAULT_HUB_HOST]);
    assert.match(result.cacheError ?? "", /cache unreadable: flash read error/);
  });

  it("sends nothing for an invalid device id and falls back to the default hub with that id", async () => {
    const t = setup();
    const result = await t.client.resolve("box/../admin");
    assert.equal(t.https.requests.length, 0);
    assert.equal(result.source, "default");
    assert.equal(result.deviceId, "box/../admin");
    assert.match(result.error ?? "", /^request not sent: invalid device id/);
  });

  it("does not use a cached record of this device for another device id", async () => {
    const t = setup();
    t.cache(record(CACHED_HUB));
    t.https.reply(new Error("offline"));
    const result: BootstrapResult = await t.client.resolve("box-0043");
    assert.deepEqual([result.source, result.hubHostName, result.deviceId], ["default", DEFAULT_HUB_HOST, "box-0043"]);
    assert.match(result.cacheError ?? "", /for device "box-0042", not "box-0043"/);
  });

  it("with a clock, gives up on an adapter that never settles", async () => {
    const clock = new ManualClock();
    const t = setup({ clock, timeoutMs: 1000, watchdogGraceMs: 500 });
    t.cache(record(CACHED_HUB));
    t.https.reply("hang");
    let result: BootstrapResult | undefined;
    void t.client.resolve(DEVICE).then((r) => (result = r));
    await clock.advance(1499);
    assert.equal(result, undefined);
    await clock.advance(1);
    assert.deepEqual([result?.source, result?.hubHostName, result?.error], ["cache", CACHED_HUB, "timed out: no answer within 1500 ms"]);
    assert.equal(clock.timerCount, 0);
  });

  it("with a clock, cancels the watchdog when the answer comes in time", async () => {
    const clock = new ManualClock();
    const t = setup({ clock });
    t.https.reply(assigned(NEW_HUB));
    assert.equal((await t.client.resolve(DEVICE)).source, "service");
    assert.equal(clock.timerCount, 0);
  });

  it("uses a configured default hub in lower case; refuses a default hub outside the egress table and bad settings", async () => {
    const t = setup({ defaultHub: NEW_HUB.toUpperCase() });
    t.https.reply(new Error("offline"));
    assert.equal((await t.client.resolve(DEVICE)).hubHostName, NEW_HUB);
    assert.throws(() => setup({ defaultHub: "evil.example.com" }), /default hub "evil.example.com"/);
    assert.throws(() => setup({ defaultHub: "not a host" }), RangeError);
    assert.throws(() => setup({ timeoutMs: 0 }), RangeError);
    assert.throws(() => setup({ firmwareVersion: "1.0\r\nX-Evil: 1" }), /invalid firmware version/);
  });

  it("resolves to the default hub even when a port misbehaves (a throwing logger)", async () => {
    const t = setup({ logger: scoped({ log: () => { throw new Error("log sink broken"); } }, "bootstrap") });
    t.https.reply(assigned(NEW_HUB));
    const result = await t.client.resolve(DEVICE);
    assert.deepEqual([result.source, result.hubHostName, result.deviceId], ["default", DEFAULT_HUB_HOST, DEVICE]);
    assert.match(result.error ?? "", /^internal error: log sink broken/);
  });

  it("only ever allows hubs on MQTT/TLS 8883 through hubAllowedBy", () => {
    const allows = hubAllowedBy(new EgressPolicy(INTEGRATION_GUIDE_EGRESS, scoped({ log() {} }, "egress")));
    assert.ok(allows(DEFAULT_HUB_HOST));
    assert.ok(!allows("bootstrap.centersightcloud.com"));
    assert.ok(!allows("evil.example.com"));
  });
});
