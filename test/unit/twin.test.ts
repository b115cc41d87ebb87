import assert from "../support/assert";
import { Twin, TwinError, mergePatch, type DesiredUpdate } from "../../src/azure/twin";
import { scoped, silentLogger } from "../../src/ports/logger";
import { fromUtf8, utf8 } from "../../src/core/bytes";
import { ManualClock, flush } from "../support/manual-clock";

interface Sent {
  topic: string;
  body: string;
  rid: string;
}

function setup(timeoutMs = 1000) {
  const clock = new ManualClock();
  const twin = new Twin({ clock, logger: scoped(silentLogger, "twin"), timeoutMs });
  const sent: Sent[] = [];
  const updates: DesiredUpdate[] = [];
  twin.onDesired((u) => updates.push(u));
  const attach = (): void =>
    twin.attach(async (topic, payload) => {
      sent.push({ topic, body: fromUtf8(payload), rid: /\$rid=([^&]+)/.exec(topic)?.[1] ?? "" });
    });
  const reply = (status: number, rid: string, body = "", version?: number): boolean =>
    twin.handleMessage(`$iothub/twin/res/${status}/?$rid=${rid}${version !== undefined ? `&$version=${version}` : ""}`, utf8(body));
  const desired = (version: number, body: object): boolean =>
    twin.handleMessage(`$iothub/twin/PATCH/properties/desired/?$version=${version}`, utf8(JSON.stringify({ ...body, $version: version })));
  return { clock, twin, sent, updates, attach, reply, desired };
}

const doc = (desiredVersion: number, desired: object = {}) =>
  JSON.stringify({ desired: { ...desired, $version: desiredVersion }, reported: { $version: 1 } });

describe("Twin", () => {
  it("GETs the full twin and correlates the reply by $rid", async () => {
    const t = setup();
    t.attach();
    const got = t.twin.get();
    await flush();
    assert.equal(t.sent.length, 1);
    assert.match(t.sent[0]!.topic, /^\$iothub\/twin\/GET\/\?\$rid=/);
    t.reply(200, "999", doc(1)); // someone else's rid: ignored
    t.reply(200, t.sent[0]!.rid, doc(4, { brightness: 50 }));
    const twin = await got;
    assert.deepEqual(twin.desired, { brightness: 50, $version: 4 });
  });

  it("fails a GET that gets no reply within the timeout", async () => {
    const t = setup(1000);
    t.attach();
    const got = t.twin.get();
    const check = assert.rejects(got, /no response within 1000 ms/);
    await t.clock.advance(1000);
    await check;
  });

  it("fails a GET with a non-200 status or a malformed document", async () => {
    const t = setup();
    t.attach();
    let got = t.twin.get();
    await flush();
    t.reply(429, t.sent[0]!.rid);
    await assert.rejects(got, (e) => e instanceof TwinError && e.status === 429);
    got = t.twin.get();
    await flush();
    t.reply(200, t.sent[1]!.rid, "{not json");
    await assert.rejects(got, /malformed JSON/);
    got = t.twin.get();
    await flush();
    t.reply(200, t.sent[2]!.rid, '{"desired":1}');
    await assert.rejects(got, /without desired\/reported/);
  });

  it("refuses requests while detached and fails pending ones on detach", async () => {
    const t = setup();
    await assert.rejects(t.twin.get(), /not connected/);
    t.attach();
    const got = t.twin.get();
    t.twin.detach("socket closed");
    await assert.rejects(got, /disconnected: socket closed/);
  });

  it("sync applies the full desired document when newer, then ignores stale patches", async () => {
    const t = setup();
    t.attach();
    const s = t.twin.sync();
    await flush();
    t.reply(200, t.sent[0]!.rid, doc(5, { brightness: 80 }));
    await s;
    assert.deepEqual(t.updates, [{ properties: { brightness: 80 }, version: 5, full: true }]);
    t.desired(4, { brightness: 10 }); // stale
    t.desired(5, { brightness: 11 }); // same version
    assert.equal(t.updates.length, 1);
    t.desired(6, { brightness: 60 });
    assert.deepEqual(t.updates[1], { properties: { brightness: 60 }, version: 6, full: false });
    assert.equal(t.twin.desiredVersion, 6);
  });

  it("a full document taken before a patch already applied: asked once more, the newer answer kept", async () => {
    const t = setup();
    t.attach();
    const s = t.twin.sync();
    await flush();
    t.reply(200, t.sent[0]!.rid, doc(6, { a: 6 }));
    await flush();
    t.desired(7, { a: 7 });
    const again = t.twin.sync();
    await flush();
    t.reply(200, t.sent[1]!.rid, doc(6, { a: 6 })); // a snapshot from before the patch
    await flush();
    assert.equal(t.sent.length, 3, "a second GET instead of going back");
    assert.match(t.sent[2]!.topic, /twin\/GET/);
    t.reply(200, t.sent[2]!.rid, doc(7, { a: 7 }));
    await s;
    await again;
    assert.deepEqual(
      t.updates.map((u) => [u.version, u.full]),
      [
        [6, true],
        [7, false],
      ],
      "nothing went back",
    );
    assert.equal(t.twin.desiredVersion, 7);
  });

  it("a hub whose desired $version is below the applied one (twin recreated): adopted after a second GET says so too", async () => {
    const t = setup();
    t.attach();
    const first = t.twin.sync();
    await flush();
    t.reply(200, t.sent[0]!.rid, doc(40, { a: 40 }));
    await first;
    const s = t.twin.sync();
    await flush();
    t.reply(200, t.sent[1]!.rid, doc(2, { a: 2 }));
    await flush();
    t.reply(200, t.sent[2]!.rid, doc(2, { a: 2 }));
    await s;
    assert.equal(t.sent.length, 3);
    assert.deepEqual(t.updates[1], { properties: { a: 2 }, version: 2, full: true });
    assert.equal(t.twin.desiredVersion, 2);
    t.desired(3, { a: 3 });
    assert.deepEqual(t.updates[2], { properties: { a: 3 }, version: 3, full: false }, "the next genuine patch applies");
  });

  it("a patch that skips versions is not applied: a full GET, whose document and version are adopted", async () => {
    const t = setup();
    t.attach();
    t.desired(1, { a: 1 });
    t.desired(3, { c: 3 });
    await flush();
    assert.deepEqual(
      t.updates.map((u) => u.version),
      [1],
      "version 3 is not applied from the patch",
    );
    assert.equal(t.twin.desiredVersion, 1);
    assert.equal(t.sent.length, 1, "a GET was sent after the gap");
    assert.match(t.sent[0]!.topic, /twin\/GET/);
    t.reply(200, t.sent[0]!.rid, doc(4, { a: 1, b: 2, c: 3 }));
    await flush();
    assert.deepEqual(t.updates[1], { properties: { a: 1, b: 2, c: 3 }, version: 4, full: true });
    assert.equal(t.sent.length, 1, "one GET");
  });

  it("a forged huge $version cannot freeze the settings: GET, the real version adopted, the next genuine patch applies", async () => {
    const t = setup();
    t.attach();
    const s = t.twin.sync();
    await flush();
    t.reply(200, t.sent[0]!.rid, doc(5, { brightness: 80 }));
    await s;
    t.desired(2_000_000_000, { brightness: 1 });
    await flush();
    assert.equal(t.twin.desiredVersion, 5, "the forged version is not adopted");
    assert.equal(t.updates.length, 1, "nor its content");
    assert.equal(t.sent.length, 2);
    assert.match(t.sent[1]!.topic, /twin\/GET/);
    t.reply(200, t.sent[1]!.rid, doc(6, { brightness: 70 })); // the hub's real state: one genuine patch was missed
    await flush();
    assert.deepEqual(t.updates[1], { properties: { brightness: 70 }, version: 6, full: true });
    assert.equal(t.twin.desiredVersion, 6, "the GET response's version adopted");
    t.desired(7, { brightness: 60 });
    assert.deepEqual(t.updates[2], { properties: { brightness: 60 }, version: 7, full: false }, "real + 1 applies directly");
    t.desired(8, { brightness: 50 });
    assert.deepEqual(
      t.updates.map((u) => u.version),
      [5, 6, 7, 8],
    );
    assert.equal(t.sent.length, 2, "no further GET");
  });

  it("a forged version while the GET shows nothing new: the same version stays, nothing is applied", async () => {
    const t = setup();
    t.attach();
    const s = t.twin.sync();
    await flush();
    t.reply(200, t.sent[0]!.rid, doc(5, { brightness: 80 }));
    await s;
    t.desired(999_999, { brightness: 1 });
    await flush();
    t.reply(200, t.sent[1]!.rid, doc(5, { brightness: 80 }));
    await flush();
    assert.equal(t.twin.desiredVersion, 5);
    assert.equal(t.updates.length, 1);
    t.desired(6, { brightness: 60 });
    assert.equal(t.twin.desiredVersion, 6);
  });

  it("a jump before the first GET has answered: no version taken from it, one more GET after the one under way", async () => {
    const t = setup();
    t.attach();
    const s = t.twin.sync();
    await flush();
    t.desired(9, { a: 9 }); // arrives while the GET is in flight (its snapshot may be older)
    await flush();
    assert.equal(t.sent.length, 1, "no second GET while one is under way");
    t.reply(200, t.sent[0]!.rid, doc(8, { a: 8 }));
    await flush();
    assert.equal(t.sent.length, 2, "GET again for the jump seen meanwhile");
    t.reply(200, t.sent[1]!.rid, doc(9, { a: 9 }));
    await s;
    assert.deepEqual(
      t.updates.map((u) => [u.version, u.full]),
      [
        [8, true],
        [9, true],
      ],
    );
  });

  it("refuses versions that are no safe integer, in patches and in a GET", async () => {
    const t = setup();
    t.attach();
    t.twin.handleMessage(`$iothub/twin/PATCH/properties/desired/?$version=${"9".repeat(400)}`, utf8('{"a":1}'));
    t.twin.handleMessage("$iothub/twin/PATCH/properties/desired/", utf8('{"a":2,"$version":1e400}'));
    t.twin.handleMessage("$iothub/twin/PATCH/properties/desired/", utf8('{"a":3,"$version":1.5}'));
    await flush();
    assert.equal(t.sent.length, 0, "not even a GET");
    const s = t.twin.sync();
    await flush();
    t.reply(200, t.sent[0]!.rid, '{"desired":{"a":4,"$version":1e400},"reported":{}}');
    await s;
    assert.equal(t.updates.length, 0);
    assert.equal(t.twin.desiredVersion, 0);
    t.desired(1, { a: 5 });
    assert.equal(t.twin.desiredVersion, 1);
  });

  it("ignores malformed desired patches without throwing", () => {
    const t = setup();
    t.attach();
    assert.equal(t.twin.handleMessage("$iothub/twin/PATCH/properties/desired/?$version=2", utf8("{oops")), true);
    assert.equal(t.twin.handleMessage("$iothub/twin/PATCH/properties/desired/?$version=2", utf8("[1]")), true);
    assert.equal(t.twin.handleMessage("$iothub/twin/PATCH/properties/desired/", utf8("{}")), true);
    assert.equal(t.updates.length, 0);
    assert.equal(t.twin.handleMessage("devices/x/messages/devicebound/", utf8("")), false);
  });

  it("takes $version from the body when the topic has none", () => {
    const t = setup();
    t.attach();
    t.twin.handleMessage("$iothub/twin/PATCH/properties/desired/", utf8('{"x":1,"$version":1}'));
    assert.deepEqual(t.updates, [{ properties: { x: 1 }, version: 1, full: false }]);
  });

  it("reports properties and resolves with the new reported $version on 204", async () => {
    const t = setup();
    t.attach();
    const r = t.twin.report({ fw: "1.0" });
    await flush();
    assert.match(t.sent[0]!.topic, /^\$iothub\/twin\/PATCH\/properties\/reported\/\?\$rid=/);
    assert.deepEqual(JSON.parse(t.sent[0]!.body), { fw: "1.0" });
    t.reply(204, t.sent[0]!.rid, "", 17);
    assert.equal(await r, 17);
  });

  it("coalesces reports made while offline or while a PATCH is in flight", async () => {
    const t = setup();
    const a = t.twin.report({ diag: { rssi: -70, ip: "x" } });
    const b = t.twin.report({ diag: { rssi: -60 }, fw: "1" });
    assert.equal(t.twin.reportPending, true);
    t.attach();
    const c = t.twin.report({ fw: "2" });
    await flush();
    assert.equal(t.sent.length, 1);
    assert.deepEqual(JSON.parse(t.sent[0]!.body), { diag: { rssi: -60, ip: "x" }, fw: "2" });
    const d = t.twin.report({ late: true });
    await flush();
    assert.equal(t.sent.length, 1, "second PATCH waits for the first");
    t.reply(204, t.sent[0]!.rid, "", 3);
    assert.deepEqual([await a, await b, await c], [3, 3, 3]);
    await flush();
    assert.deepEqual(JSON.parse(t.sent[1]!.body), { late: true });
    t.reply(204, t.sent[1]!.rid, "", 4);
    assert.equal(await d, 4);
  });

  it("keeps a report across a disconnect and sends it, merged, on the next session", async () => {
    const t = setup();
    t.attach();
    const a = t.twin.report({ x: 1, y: 1 });
    await flush();
    t.twin.detach("gone");
    await flush();
    const b = t.twin.report({ y: 2 });
    t.attach();
    const s = t.twin.sync();
    await flush();
    t.reply(200, t.sent[1]!.rid, doc(1));
    await s;
    await flush();
    const patch = t.sent[2]!;
    assert.deepEqual(JSON.parse(patch.body), { x: 1, y: 2 });
    t.reply(204, patch.rid, "", 9);
    assert.deepEqual([await a, await b], [9, 9]);
  });

  it("rejects a report the hub refuses with 400, and retries one throttled with 429", async () => {
    const t = setup();
    t.attach();
    const bad = t.twin.report({ "bad key": 1 });
    await flush();
    t.reply(400, t.sent[0]!.rid);
    await assert.rejects(bad, (e) => e instanceof TwinError && e.status === 400);
    const throttled = t.twin.report({ ok: 1 });
    await flush();
    t.reply(429, t.sent[1]!.rid);
    await flush();
    assert.equal(t.sent.length, 3, "resent after 429");
    t.reply(204, t.sent[2]!.rid, "", 2);
    assert.equal(await throttled, 2);
  });

  it("merges patches as the hub does", () => {
    assert.deepEqual(mergePatch({ a: { b: 1, c: 2 }, d: 1 }, { a: { c: 3 }, d: null, e: [1] }), { a: { b: 1, c: 3 }, d: null, e: [1] });
  });
});
