// The local web console of `npm start` (issue 14.2), over HTTP as the page uses it: the real start.js with its
// embedded cloud, the console URL it prints, the JSON API and the Server-Sent Events stream.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { request, type IncomingMessage } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { withStartCli, type StartCli } from "./support/start-cli";
import { waitFor } from "./support/processes";

interface Reply {
  readonly status: number;
  readonly json: Record<string, unknown>;
}

/** One HTTP request to the console; `headers` replace the defaults (token, JSON, Host). */
function call(port: number, method: string, path: string, options: { body?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, method, path, headers: options.headers }, (res) => {
      let text = "";
      res.on("data", (d: Buffer) => (text += d.toString()));
      res.on("end", () => {
        try {
          resolve({ status: res.statusCode ?? 0, json: text.startsWith("{") ? (JSON.parse(text) as Record<string, unknown>) : { text } });
        } catch (error) {
          reject(error as Error);
        }
      });
    });
    req.on("error", reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

/** The console's event stream, collected. */
class EventStream {
  readonly events: { name: string; data: unknown }[] = [];
  private response: IncomingMessage | undefined;

  constructor(port: number, token: string) {
    const req = request({ host: "127.0.0.1", port, path: `/api/events?token=${token}` }, (res) => {
      this.response = res;
      let buffer = "";
      res.on("data", (d: Buffer) => {
        buffer += d.toString();
        for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const name = /^event: (.*)$/m.exec(frame)?.[1] ?? "message";
          const data = /^data: (.*)$/m.exec(frame)?.[1];
          this.events.push({ name, data: data === undefined ? undefined : JSON.parse(data) });
        }
      });
    });
    req.on("error", () => undefined);
    req.end();
  }

  async find(name: string, match: (data: any) => boolean, what: string, timeoutMs = 15_000): Promise<any> {
    await waitFor(() => this.events.some((e) => e.name === name && match(e.data)), what, timeoutMs);
    return this.events.find((e) => e.name === name && match(e.data))!.data;
  }

  close(): void {
    this.response?.destroy();
  }
}

function consoleAddress(cli: StartCli): { port: number; token: string } {
  const m = /console: http:\/\/127\.0\.0\.1:(\d+)\/#token=([0-9a-f]{64})/.exec(cli.out);
  assert.ok(m, "npm start printed no console URL with a token");
  return { port: Number(m[1]), token: m[2]! };
}

describe("web console of npm start (127.0.0.1, token, live events)", function () {
  this.timeout(120_000);
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "kisme-console-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("refuses requests without the token, with a wrong one, for another Host, and non-JSON POSTs", async () => {
    await withStartCli(dir, ["--state-dir", join(dir, "state")], async (cli) => {
      await cli.until(/console: http/, "the console URL");
      const { port, token } = consoleAddress(cli);
      const auth = { authorization: `Bearer ${token}`, "content-type": "application/json" };
      assert.equal((await call(port, "GET", "/api/state")).status, 401);
      assert.equal((await call(port, "GET", "/api/state", { headers: { authorization: `Bearer ${"0".repeat(64)}` } })).status, 401);
      assert.equal((await call(port, "GET", `/api/state?token=${token.slice(0, 63)}`)).status, 401);
      assert.equal((await call(port, "POST", "/api/methods/reboot", { body: "{}", headers: { "content-type": "application/json" } })).status, 401);
      // DNS rebinding: a page on another name that resolves to 127.0.0.1 sends its own Host.
      assert.equal((await call(port, "GET", "/api/state", { headers: { ...auth, host: `evil.example:${port}` } })).status, 421);
      // A cross-site form can only send form encodings or text/plain.
      assert.equal((await call(port, "POST", "/api/press", { body: "button=1", headers: { ...auth, "content-type": "application/x-www-form-urlencoded" } })).status, 415);
      assert.equal((await call(port, "POST", "/api/press", { body: "{bad", headers: auth })).status, 400);
      assert.equal((await call(port, "POST", "/api/press", { body: JSON.stringify({ button: 1, pad: "x".repeat(200_000) }), headers: auth })).status, 413);
      // The page is static: served without the token, it holds no device data.
      const page = await call(port, "GET", "/");
      assert.equal(page.status, 200);
      assert.doesNotMatch(String(page.json["text"]), /kisbox-sim-1/);
      const state = await call(port, "GET", "/api/state", { headers: auth });
      assert.equal(state.status, 200);
      assert.equal((state.json["device"] as { deviceId: string }).deviceId, "kisbox-sim-1");
      // Nothing was pressed by the refused requests.
      assert.doesNotMatch(cli.out, /Button_pressed queued/);
    });
  });

  it("a press, setColor, a desired setting and a cloud-to-device message, each seen live", async () => {
    await withStartCli(dir, ["--state-dir", join(dir, "state")], async (cli) => {
      await cli.until(/boot: online/, "the device online", 30_000);
      const { port, token } = consoleAddress(cli);
      const auth = { authorization: `Bearer ${token}`, "content-type": "application/json" };
      const stream = new EventStream(port, token);
      try {
        await stream.find("state", () => true, "the initial state");

        const pressed = await call(port, "POST", "/api/press", { body: JSON.stringify({ button: 2, gesture: "long" }), headers: auth });
        assert.equal(pressed.status, 200);
        const t = await stream.find("telemetry", (d) => d.messageId === pressed.json["messageId"], "the press at the hub");
        assert.equal(JSON.parse(t.body).Button_pressed.button, 2);
        assert.equal(JSON.parse(t.body).Button_pressed.gesture, "long");
        assert.equal(t.properties.event, "Button_pressed");

        const refused = await call(port, "POST", "/api/methods/setColor", { body: JSON.stringify({ payload: { button: 2, color: "pink" } }), headers: auth });
        assert.equal(refused.status, 400);
        assert.match(String(refused.json["error"]), /color must be one of/);
        const unknown = await call(port, "POST", "/api/methods/selfDestruct", { body: "{}", headers: auth });
        assert.equal(unknown.status, 404);

        const answered = await call(port, "POST", "/api/methods/setColor", { body: JSON.stringify({ payload: { button: 2, color: "green" } }), headers: auth });
        assert.deepEqual(answered.json, { status: 200, payload: { buttons: [2], color: "green" } });
        await stream.find("led", (c) => c.index === 1 && c.spec.color === "green", "LED 2 green");

        const badSetting = await call(port, "POST", "/api/twin/desired", { body: JSON.stringify({ patch: { brightness: 400 } }), headers: auth });
        assert.equal(badSetting.status, 400);
        const notWritable = await call(port, "POST", "/api/twin/desired", { body: JSON.stringify({ patch: { firmware: {} } }), headers: auth });
        assert.equal(notWritable.status, 400);
        const desired = await call(port, "POST", "/api/twin/desired", { body: JSON.stringify({ patch: { brightness: 40 } }), headers: auth });
        assert.equal(desired.status, 200);
        const version = desired.json["version"];
        await stream.find("desired", (d) => d.brightness === 40 && d.$version === version, "the desired change");
        await stream.find("reported", (r) => r.brightness?.value === 40 && r.brightness?.ac === 200 && r.brightness?.av === version, "the acknowledgement in reported");

        const c2d = await call(port, "POST", "/api/c2d", { body: JSON.stringify({ body: JSON.stringify({ method: "setColor", payload: { button: 3, color: "red" } }) }), headers: auth });
        assert.equal(c2d.status, 200);
        await stream.find("led", (c) => c.index === 2 && c.spec.color === "red", "LED 3 red from the cloud-to-device message");
      } finally {
        stream.close();
      }
    });
  });

  it("firmware release from the console: progress is followed to succeeded", async () => {
    await withStartCli(dir, ["--state-dir", join(dir, "state")], async (cli) => {
      await cli.until(/boot: online/, "the device online", 30_000);
      const { port, token } = consoleAddress(cli);
      const stream = new EventStream(port, token);
      try {
        const released = await call(port, "POST", "/api/release", { body: "", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" } });
        assert.equal(released.status, 200);
        assert.equal(released.json["version"], "0.1.1");
        await stream.find("device", (v) => v.firmware?.status === "downloading", "downloading");
        await stream.find("device", (v) => v.firmware?.status === "succeeded" && v.firmware.currentVersion === "0.1.1", "succeeded after the restart", 60_000);
      } finally {
        stream.close();
      }
    });
  });

  it("--no-console starts none", async () => {
    const out = await withStartCli(dir, ["--state-dir", join(dir, "state"), "--no-console"], async (cli) => {
      await cli.until(/boot: online/, "the device online", 30_000);
    });
    assert.doesNotMatch(out, /console: /);
  });
});
