import assert from "../support/assert";
import { SetupApi, listNetworks, setupRefusal, type SetupApiOptions } from "../../src/setup/setup-api";
import { classifyJoinFailure, joinOnce } from "../../src/setup/setup-join";
import { pickLanguage, setupPage } from "../../src/setup/setup-page";
import type { HttpRequest, HttpResponse } from "../../src/ports/http-server";
import { MemoryStore } from "../../src/ports/storage";
import { ConfigStore, EMPTY_CONFIG } from "../../src/storage/config-store";
import { WifiCredentialStore } from "../../src/wifi/wifi-credentials";
import { SimulatedWifiRadio } from "../../host/adapters/simulated-wifi";
import { ManualClock, SeededRandom } from "../support/manual-clock";

const WPA2 = { ssid: "Werkhalle", authMode: "wpa2-psk", passphrase: "richtig-geheim", rssi: -48 } as const;
const NETWORKS = [
  WPA2,
  { ssid: "Gast", authMode: "open", rssi: -60 },
  { ssid: "Neu-WPA3", authMode: "wpa3-sae", passphrase: "wpa3-only-pass", rssi: -65 },
  { ssid: "Alt-WEP", authMode: "wep", passphrase: "12345", rssi: -80 },
] as const;

function harness(overrides: Partial<SetupApiOptions> = {}) {
  const clock = new ManualClock();
  const radio = new SimulatedWifiRadio(clock, NETWORKS);
  const store = new MemoryStore();
  const config = new ConfigStore({ store, defaults: EMPTY_CONFIG });
  const credentials = new WifiCredentialStore(config);
  const joined: string[] = [];
  let activity = 0;
  const api = new SetupApi({
    clock,
    random: new SeededRandom(3),
    info: () => ({ deviceId: "kisbox-sim-1", profile: "box", firmwareVersion: "1.2.3", cloudReached: false }),
    storedSsid: () => credentials.load().credentials?.ssid,
    scan: () => radio.scan(),
    join: (ssid, passphrase) => joinOnce(radio, clock, ssid, passphrase, 5000),
    save: (c) => credentials.save(c),
    onJoined: (ssid, ip) => joined.push(`${ssid}@${ip}`),
    onActivity: () => activity++,
    ...overrides,
  });
  const request = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ r: HttpResponse; json: Record<string, unknown> }> => {
    const req: HttpRequest = {
      method,
      path,
      headers: { host: "192.168.4.1", ...(body !== undefined ? { "content-type": "application/json" } : {}), ...headers },
      body: body === undefined ? "" : typeof body === "string" ? body : JSON.stringify(body),
    };
    const pending = api.handle(req);
    await clock.advance(10_000);
    const r = await pending;
    let json: Record<string, unknown> = {};
    if (r.headers["content-type"]?.startsWith("application/json")) json = JSON.parse(r.body) as Record<string, unknown>;
    return { r, json };
  };
  const join = (ssid: string, passphrase: string, headers: Record<string, string> = { "x-setup-token": api.token }) => request("POST", "/api/join", { ssid, passphrase }, headers);
  return { clock, radio, store, config, credentials, api, request, join, joined, activity: () => activity };
}

describe("setup API", () => {
  it("GET /api/status: device, profile, firmware, cloud, stored SSID and the session token — no passphrase", async () => {
    const t = harness();
    t.credentials.save({ ssid: "Alt", passphrase: "altes-passwort" });
    const { r, json } = await t.request("GET", "/api/status");
    assert.equal(r.status, 200);
    assert.deepEqual(json, { deviceId: "kisbox-sim-1", profile: "box", firmwareVersion: "1.2.3", cloudReached: false, storedSsid: "Alt", token: t.api.token });
    assert.ok(!r.body.includes("altes-passwort"));
    assert.match(t.api.token, /^[0-9a-f]{32}$/);
    assert.equal(t.activity(), 1);
  });

  it("GET /api/networks: strongest first, WPA2 selectable, open/WPA3/WEP with the reason", async () => {
    const t = harness();
    const { r, json } = await t.request("GET", "/api/networks");
    assert.equal(r.status, 200);
    const list = json.networks as { ssid: string; selectable: boolean; reason?: string; signal: number; security: string }[];
    assert.deepEqual(list.map((n) => [n.ssid, n.security, n.selectable]), [
      ["Werkhalle", "wpa2-psk", true],
      ["Gast", "open", false],
      ["Neu-WPA3", "wpa3-sae", false],
      ["Alt-WEP", "wep", false],
    ]);
    assert.equal(list[0]!.signal, 70);
    assert.equal(list[0]!.reason, undefined);
    assert.match(list[1]!.reason!, /open/);
    assert.match(list[2]!.reason!, /WPA3-only/);
    assert.match(list[3]!.reason!, /WEP/);
    assert.ok(!r.body.includes("richtig-geheim"));
  });

  it("lists one entry per SSID (the strongest), no hidden ones, at most 30", () => {
    const scanned = [
      { ssid: "a", rssi: -70, channel: 1, authMode: "wpa2-psk" as const },
      { ssid: "a", rssi: -40, channel: 6, authMode: "wpa2-psk" as const },
      { ssid: "", rssi: -30, channel: 6, authMode: "wpa2-psk" as const },
      ...Array.from({ length: 40 }, (_, i) => ({ ssid: `n${i}`, rssi: -80, channel: 1, authMode: "wpa-wpa2-psk" as const })),
    ];
    const listed = listNetworks(scanned);
    assert.equal(listed.length, 30);
    assert.deepEqual([listed[0]!.ssid, listed[0]!.rssi], ["a", -40]);
    assert.equal(setupRefusal("wpa2-wpa3-psk"), undefined, "transition mode joins as WPA2");
    assert.match(setupRefusal("wpa2-enterprise")!, /enterprise/);
  });

  it("POST /api/join: wrong passphrase, then the right one joins and saves; the passphrase is never echoed", async () => {
    const t = harness();
    const wrong = await t.join("Werkhalle", "falsches-passwort");
    assert.equal(wrong.r.status, 200);
    assert.equal(wrong.json.result, "wrong-passphrase");
    assert.equal(t.credentials.load().credentials, undefined, "nothing saved for a failed join");
    assert.ok(!wrong.r.body.includes("falsches-passwort"));
    const right = await t.join("Werkhalle", "richtig-geheim");
    assert.deepEqual(right.json, { result: "joined", ssid: "Werkhalle", ip: "192.0.2.10" });
    assert.deepEqual(t.credentials.load().credentials, { ssid: "Werkhalle", passphrase: "richtig-geheim" });
    assert.deepEqual(t.joined, ["Werkhalle@192.0.2.10"]);
    assert.ok(!right.r.body.includes("richtig-geheim"));
    const status = await t.request("GET", "/api/status");
    assert.equal(status.json.storedSsid, "Werkhalle");
    assert.ok(!status.r.body.includes("richtig-geheim"));
  });

  it("a network that went away is not-found; unsupported security is refused before any join", async () => {
    const t = harness();
    const gone = await t.join("Anderswo", "irgendein-pass");
    assert.equal(gone.json.result, "not-found");
    for (const ssid of ["Gast", "Neu-WPA3", "Alt-WEP"]) {
      const refused = await t.join(ssid, "wpa3-only-pass");
      assert.equal(refused.r.status, 400, ssid);
      assert.ok(typeof refused.json.error === "string", ssid);
    }
    assert.deepEqual(t.radio.joins, [], "the radio never tried");
  });

  it("validates the passphrase and SSID with the src/wifi rules", async () => {
    const t = harness();
    for (const [ssid, passphrase, pattern] of [
      ["Werkhalle", "kurz", /8-63/],
      ["Werkhalle", "a".repeat(65), /8-63/],
      ["Werkhalle", "pässwort-lang", /printable ASCII/],
      ["", "richtig-geheim", /1-32 bytes/],
      ["x".repeat(33), "richtig-geheim", /1-32 bytes/],
    ] as const) {
      const { r, json } = await t.join(ssid, passphrase);
      assert.equal(r.status, 400);
      assert.match(String(json.error), pattern);
    }
    const missing = await t.request("POST", "/api/join", { ssid: "Werkhalle" }, { "x-setup-token": t.api.token });
    assert.equal(missing.r.status, 400);
    const notJson = await t.request("POST", "/api/join", "{", { "x-setup-token": t.api.token });
    assert.equal(notJson.r.status, 400);
    const big = await t.request("POST", "/api/join", JSON.stringify({ ssid: "x", pad: "p".repeat(3000) }), { "x-setup-token": t.api.token });
    assert.equal(big.r.status, 413);
    assert.deepEqual(t.radio.joins, []);
  });

  it("refuses a POST without the session token, with another session's token, or not as JSON", async () => {
    const t = harness();
    const other = harness({ random: new SeededRandom(4) }).api.token;
    assert.notEqual(other, t.api.token);
    assert.equal((await t.join("Werkhalle", "richtig-geheim", {})).r.status, 403);
    assert.equal((await t.join("Werkhalle", "richtig-geheim", { "x-setup-token": other })).r.status, 403);
    const form = await t.request("POST", "/api/join", "ssid=Werkhalle", { "x-setup-token": t.api.token, "content-type": "application/x-www-form-urlencoded" });
    assert.equal(form.r.status, 415);
    assert.deepEqual(t.radio.joins, []);
    assert.equal(t.credentials.load().credentials, undefined);
  });

  it("rate-limits join attempts: 5 per minute, then 429 with Retry-After", async () => {
    const t = harness();
    for (let i = 0; i < 5; i++) assert.equal((await t.join("Werkhalle", `falsch-${i}-xxxx`)).json.result, "wrong-passphrase");
    const limited = await t.join("Werkhalle", "richtig-geheim");
    assert.equal(limited.r.status, 429);
    assert.ok(Number(limited.r.headers["retry-after"]) > 0);
    assert.equal(t.radio.joins.length, 5, "the sixth never reached the radio");
    await t.clock.advance(60_000);
    assert.equal((await t.join("Werkhalle", "richtig-geheim")).json.result, "joined");
  });

  it("one join at a time (409 while one runs)", async () => {
    const t = harness();
    const req = (pass: string): HttpRequest => ({ method: "POST", path: "/api/join", headers: { host: "192.168.4.1", "content-type": "application/json", "x-setup-token": t.api.token }, body: JSON.stringify({ ssid: "Werkhalle", passphrase: pass }) });
    const first = t.api.handle(req("richtig-geheim"));
    const second = t.api.handle(req("richtig-geheim"));
    await t.clock.advance(10_000);
    assert.deepEqual([(await first).status, (await second).status], [200, 409]);
  });

  it("a join that gets no address in time fails and leaves the radio disconnected", async () => {
    const t = harness();
    t.radio.dhcpAnswers = false;
    const { json } = await t.join("Werkhalle", "richtig-geheim");
    assert.equal(json.result, "failed");
    assert.match(String(json.detail), /no IP address/);
    assert.equal(t.radio.info().ip, undefined);
    assert.equal(t.credentials.load().credentials, undefined);
  });

  it("a save that fails is reported, not claimed as joined", async () => {
    const t = harness({ save: () => { throw new Error("flash full"); } });
    const { r, json } = await t.join("Werkhalle", "richtig-geheim");
    assert.equal(r.status, 500);
    assert.match(String(json.error), /flash full/);
    assert.deepEqual(t.joined, []);
  });

  it("serves the page, redirects captive-portal probes, refuses other hosts' POSTs", async () => {
    const t = harness({ hosts: ["192.168.4.1"], portalUrl: "http://192.168.4.1/" });
    const page = await t.request("GET", "/", undefined, { "accept-language": "de-DE,de;q=0.9,en;q=0.8" });
    assert.equal(page.r.status, 200);
    assert.match(page.r.headers["content-type"]!, /text\/html/);
    assert.match(page.r.headers["content-security-policy"]!, /default-src 'none'/);
    assert.match(page.r.body, /<html lang="de">/);
    const probe = await t.request("GET", "/generate_204", undefined, { host: "connectivitycheck.gstatic.com" });
    assert.deepEqual([probe.r.status, probe.r.headers.location], [302, "http://192.168.4.1/"]);
    const local = await t.request("GET", "/hotspot-detect.html");
    assert.equal(local.r.status, 302);
    const rebound = await t.request("POST", "/api/join", { ssid: "Werkhalle", passphrase: "richtig-geheim" }, { host: "evil.example", "x-setup-token": t.api.token });
    assert.equal(rebound.r.status, 403);
    assert.equal((await t.request("GET", "/api/nothing")).r.status, 404);
    assert.equal((await t.request("GET", "/api/join")).r.status, 405);
    assert.equal((await t.request("DELETE", "/api/status")).r.status, 405);
  });

  it("a failing scan is a 503, never a throw", async () => {
    const t = harness({ scan: () => Promise.reject(new Error("radio busy")) });
    const { r, json } = await t.request("GET", "/api/networks");
    assert.equal(r.status, 503);
    assert.match(String(json.error), /radio busy/);
  });
});

describe("setup join", () => {
  it("classifies the radios' disconnect reasons", () => {
    assert.equal(classifyJoinFailure("authentication failed").result, "wrong-passphrase");
    assert.equal(classifyJoinFailure("association or authentication failed (access point not found or refused, or wrong passphrase)").result, "wrong-passphrase");
    assert.equal(classifyJoinFailure("no access point found").result, "not-found");
    assert.equal(classifyJoinFailure("beacon timeout").result, "failed");
  });

  it("joinOnce resolves once, at the address", async () => {
    const clock = new ManualClock();
    const radio = new SimulatedWifiRadio(clock, [WPA2]);
    const pending = joinOnce(radio, clock, "Werkhalle", "richtig-geheim", 1000);
    await clock.advance(1000);
    assert.deepEqual(await pending, { result: "joined", ip: "192.0.2.10" });
    assert.equal(clock.timerCount, 0);
  });
});

describe("setup page", () => {
  it("picks German or English from Accept-Language", () => {
    assert.equal(pickLanguage("de-AT,de;q=0.9"), "de");
    assert.equal(pickLanguage("en-US,en;q=0.9,de;q=0.8"), "en");
    assert.equal(pickLanguage("fr-FR,de;q=0.5,en;q=0.4"), "de");
    assert.equal(pickLanguage("fr-FR"), "en");
    assert.equal(pickLanguage(undefined), "en");
    assert.equal(pickLanguage("de;q=0"), "en");
  });

  it("is one self-contained document of a few KB in both languages", () => {
    for (const language of ["de", "en"] as const) {
      const page = setupPage(language);
      const bytes = new TextEncoder().encode(page).length;
      assert.ok(bytes < 8 * 1024, `${language}: ${bytes} bytes`);
      assert.ok(!/(src|href)\s*=|@import|url\(|https?:\/\//i.test(page), `${language}: nothing loaded from elsewhere`);
      assert.match(page, /name="viewport" content="width=device-width/);
      assert.match(page, /id="passphrase" type="password"/);
    }
    assert.match(setupPage("de"), /WLAN-Passwort/);
    assert.match(setupPage("en"), /Wi-Fi password/);
  });
});
