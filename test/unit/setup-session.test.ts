import assert from "../support/assert";
import { SetupSession } from "../../src/setup/setup-session";
import type { HttpRequest } from "../../src/ports/http-server";
import type { WifiCredentials } from "../../src/wifi/wifi-credentials";
import { silentLogger } from "../../src/ports/logger";
import { SimulatedWifiRadio } from "../../host/adapters/simulated-wifi";
import { ManualClock, SeededRandom } from "../support/manual-clock";

function harness() {
  const clock = new ManualClock();
  const radio = new SimulatedWifiRadio(clock, [{ ssid: "Halle", authMode: "wpa2-psk", passphrase: "halle-passwort" }]);
  const saved: WifiCredentials[] = [];
  const session = new SetupSession({
    clock,
    random: new SeededRandom(9),
    logger: silentLogger,
    radio,
    info: () => ({ deviceId: "box-1", profile: "box", firmwareVersion: "1.0.0", cloudReached: true }),
    storedSsid: () => saved[saved.length - 1]?.ssid,
    save: (c) => saved.push(c),
    lingerMs: 2000,
  });
  const get = (path: string): HttpRequest => ({ method: "GET", path, headers: {}, body: "" });
  return { clock, radio, saved, session, get };
}

describe("SetupSession", () => {
  it("answers 503 while setup mode is off, and a fresh token for every session", async () => {
    const t = harness();
    assert.equal((await t.session.handle(t.get("/api/status"))).status, 503);
    t.session.mode.start({ hasCredentials: true, gesture: true });
    const first = t.session.current!.token;
    assert.equal((await t.session.handle(t.get("/api/status"))).status, 200);
    await t.clock.advance(15 * 60_000);
    assert.equal(t.session.mode.active, undefined, "idle timeout");
    assert.equal(t.session.current, undefined);
    await t.clock.advance(10 * 60_000);
    assert.equal(t.session.mode.active, "not-joined");
    assert.notEqual(t.session.current!.token, first);
  });

  it("a saved join ends setup mode after the linger time, so the page sees the answer", async () => {
    const t = harness();
    const ended = t.session.ended();
    t.session.mode.start({ hasCredentials: false, gesture: false });
    const api = t.session.current!;
    const pending = t.session.handle({ method: "POST", path: "/api/join", headers: { "content-type": "application/json", "x-setup-token": api.token }, body: JSON.stringify({ ssid: "Halle", passphrase: "halle-passwort" }) });
    await t.clock.advance(100);
    assert.equal((await pending).status, 200);
    assert.deepEqual(t.saved, [{ ssid: "Halle", passphrase: "halle-passwort" }]);
    assert.equal(t.session.mode.active, "no-credentials", "still on while the page shows the result");
    await t.clock.advance(2000);
    assert.equal(await ended, "joined");
    assert.equal(t.session.mode.active, undefined);
    assert.equal(t.clock.timerCount, 0);
  });
});
