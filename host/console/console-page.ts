/**
 * The web console's one page: no external assets, no framework. It reads the token from the URL fragment, loads
 * /api/state, follows /api/events (Server-Sent Events) and calls the JSON API. Element ids and data-* attributes
 * are what the browser tests use.
 */
export const CONSOLE_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>KIS.ME local console</title>
<style>
:root { font: 14px/1.4 system-ui, sans-serif; color: #1d2733; background: #eef1f4; }
body { margin: 0; }
header { background: #1d2733; color: #fff; padding: 8px 16px; display: flex; gap: 16px; align-items: baseline; flex-wrap: wrap; }
header h1 { font-size: 16px; margin: 0; }
main { display: grid; grid-template-columns: repeat(auto-fit, minmax(340px, 1fr)); gap: 12px; padding: 12px; }
section { background: #fff; border-radius: 8px; padding: 12px; box-shadow: 0 1px 2px #0002; min-width: 0; }
h2 { font-size: 14px; margin: 0 0 8px; text-transform: uppercase; letter-spacing: .05em; color: #52606d; }
.device { display: flex; flex-wrap: wrap; gap: 14px; padding: 14px; background: #2b3440; border-radius: 10px; }
.key { display: flex; flex-direction: column; align-items: center; gap: 6px; }
.led { width: 26px; height: 26px; border-radius: 50%; background: #444; border: 2px solid #111; }
.key button { width: 64px; height: 64px; border-radius: 12px; border: 0; background: #d8dde3; font-size: 20px; cursor: pointer; }
.key button:active { background: #b8c0c8; }
.segment { width: 120px; height: 34px; border-radius: 6px; border: 2px solid #111; background: #444; }
.blink { animation: blink var(--period, 1s) steps(1) infinite; }
.flash { animation: flash var(--period, 1s) steps(1) infinite; }
.breathe { animation: breathe var(--period, 2s) ease-in-out infinite; }
@keyframes blink { 50% { opacity: .15; } }
@keyframes flash { 10% { opacity: .15; } }
@keyframes breathe { 50% { opacity: .2; } }
table { border-collapse: collapse; width: 100%; font-size: 12px; }
td, th { text-align: left; border-bottom: 1px solid #e3e7eb; padding: 3px 4px; vertical-align: top; word-break: break-word; }
td:nth-child(-n+2), th { white-space: nowrap; word-break: normal; }
td:nth-child(4) { font-family: ui-monospace, monospace; }
#method-schema { font-size: 12px; color: #52606d; }
pre { background: #f5f7f9; padding: 6px; margin: 4px 0; max-height: 220px; overflow: auto; font-size: 12px; white-space: pre-wrap; }
textarea, input, select { font: inherit; box-sizing: border-box; }
textarea { width: 100%; min-height: 60px; }
.row { display: flex; gap: 6px; align-items: center; flex-wrap: wrap; margin: 4px 0; }
.status { font-weight: 600; }
.err { color: #b00020; }
#log { max-height: 360px; overflow: auto; }
</style>
</head>
<body>
<header><h1 id="title">KIS.ME local console</h1><span id="device-id"></span><span id="phase" class="status"></span><span id="conn"></span></header>
<main>
<section><h2>Device</h2><div id="device" class="device"></div><p id="press-result"></p></section>
<section><h2>Telemetry</h2><div id="log"><table><thead><tr><th>received</th><th>event</th><th>properties</th><th>body</th></tr></thead><tbody id="telemetry"></tbody></table></div></section>
<section><h2>Device twin</h2>
<div>desired <span id="desired-version"></span></div><pre id="desired"></pre>
<div class="row"><select id="setting"></select><input id="setting-value" size="8" placeholder="value"><button id="set-desired">Set desired</button></div>
<div id="desired-result"></div>
<div>reported <span id="reported-version"></span></div><pre id="reported"></pre></section>
<section><h2>Direct method</h2>
<div class="row"><select id="method"></select><button id="invoke">Invoke</button></div>
<textarea id="method-payload">{}</textarea><div id="method-schema"></div><pre id="method-result"></pre>
<h2>Cloud-to-device message</h2><textarea id="c2d-body">{"method":"identify","payload":{"seconds":3}}</textarea>
<div class="row"><button id="send-c2d">Send</button><span id="c2d-result"></span></div></section>
<section><h2>Firmware</h2><div class="row"><button id="release">Release next version</button></div>
<div>status: <span id="fw-status" class="status">-</span> · running <span id="fw-running">-</span> · target <span id="fw-target">-</span></div>
<progress id="fw-progress" max="100" value="0"></progress> <span id="fw-error" class="err"></span></section>
</main>
<script>
"use strict";
const token = new URLSearchParams(location.hash.slice(1)).get("token") || "";
const $ = (id) => document.getElementById(id);
const RGB = { off: "#444", red: "#e53935", green: "#43a047", blue: "#1e88e5", yellow: "#fdd835", white: "#fafafa", cyan: "#00bcd4", magenta: "#d81b60" };
let state = null;
async function api(method, path, body) {
  const init = { method, headers: { authorization: "Bearer " + token } };
  if (method === "POST") { init.headers["content-type"] = "application/json"; init.body = JSON.stringify(body === undefined ? {} : body); }
  const res = await fetch(path, init);
  const json = await res.json().catch(() => ({}));
  return { status: res.status, json };
}
function colour(spec) {
  if (!spec || spec.pattern === "off" || spec.color === "off") return { css: RGB.off, name: "off" };
  const c = spec.color;
  return typeof c === "string" ? { css: RGB[c] || "#999", name: c } : { css: "rgb(" + c.r + "," + c.g + "," + c.b + ")", name: "rgb(" + c.r + "," + c.g + "," + c.b + ")" };
}
function paintLed(el, spec) {
  const c = colour(spec);
  el.style.background = c.css;
  el.dataset.color = c.name;
  el.dataset.pattern = spec ? spec.pattern : "off";
  el.className = el.className.replace(/ ?(blink|flash|breathe)/g, "");
  if (spec && ["blink", "flash", "breathe"].includes(spec.pattern)) el.classList.add(spec.pattern);
  if (spec && spec.periodMs) el.style.setProperty("--period", spec.periodMs + "ms");
  el.style.filter = spec && spec.brightness !== undefined ? "brightness(" + (0.3 + spec.brightness / 140) + ")" : "";
  el.title = c.name + (spec && spec.pattern !== "on" ? " " + spec.pattern : "");
}
function drawDevice(view) {
  const box = $("device");
  box.textContent = "";
  if (view.profile.name === "box") {
    for (let i = 1; i <= view.profile.buttons; i++) {
      const key = document.createElement("div");
      key.className = "key";
      const led = document.createElement("div");
      led.className = "led"; led.id = "led-" + i;
      const button = document.createElement("button");
      button.textContent = String(i); button.dataset.button = String(i); button.id = "button-" + i;
      let downAt = 0, clickTimer = 0;
      button.addEventListener("pointerdown", () => { downAt = Date.now(); });
      button.addEventListener("pointerup", () => {
        if (Date.now() - downAt >= 1000) { clearTimeout(clickTimer); clickTimer = 0; return press(i, "long"); }
        if (clickTimer) { clearTimeout(clickTimer); clickTimer = 0; return press(i, "double"); }
        clickTimer = setTimeout(() => { clickTimer = 0; press(i, "short"); }, 300);
      });
      key.append(led, button);
      box.append(key);
    }
  } else {
    box.style.flexDirection = "column";
    view.profile.segments.forEach((name, i) => {
      const seg = document.createElement("div");
      seg.className = "segment"; seg.id = "led-" + (i + 1); seg.dataset.segment = name;
      box.append(seg);
    });
  }
  (view.leds || []).forEach((spec, i) => { const el = $("led-" + (i + 1)); if (el) paintLed(el, spec); });
}
async function press(button, gesture) {
  const r = await api("POST", "/api/press", { button, gesture });
  $("press-result").textContent = r.status === 200 ? "button " + button + " " + gesture + ": " + r.json.messageId : "error: " + r.json.error;
}
function showDevice(view) {
  $("device-id").textContent = view.deviceId;
  $("phase").textContent = view.phase + (view.hub ? " · " + view.hub : "") + " · link " + view.link;
  const f = view.firmware;
  if (f) {
    $("fw-status").textContent = f.status; $("fw-running").textContent = f.currentVersion; $("fw-target").textContent = f.targetVersion || "none";
    $("fw-progress").value = f.progress === undefined || f.progress === null ? (f.status === "succeeded" ? 100 : 0) : f.progress;
    $("fw-error").textContent = f.lastError || "";
  }
}
function addTelemetry(t) {
  const tr = document.createElement("tr");
  let event = "";
  try { event = Object.keys(JSON.parse(t.body))[0] || ""; } catch (e) { event = "?"; }
  tr.dataset.event = event;
  const props = Object.entries(t.properties).map(([k, v]) => k + "=" + v).join(" ");
  for (const text of [new Date(t.receivedAt).toLocaleTimeString(), event, props, t.body]) {
    const td = document.createElement("td"); td.textContent = text; tr.append(td);
  }
  $("telemetry").prepend(tr);
}
function showTwin(desired, reported) {
  if (desired) { $("desired").textContent = JSON.stringify(desired, null, 1); $("desired-version").textContent = "$version " + desired.$version; }
  if (reported) { $("reported").textContent = JSON.stringify(reported, null, 1); $("reported-version").textContent = "$version " + reported.$version; }
}
function load(s) {
  state = s;
  $("title").textContent = s.model.displayName + " · local console";
  drawDevice(s.device); showDevice(s.device);
  $("telemetry").textContent = "";
  if (s.hub) { s.hub.telemetry.forEach(addTelemetry); showTwin(s.hub.desired, s.hub.reported); }
  $("method").textContent = ""; Object.keys(s.model.commands).forEach((n) => $("method").append(new Option(n, n)));
  $("setting").textContent = ""; Object.keys(s.model.settings).forEach((n) => $("setting").append(new Option(n, n)));
  $("release").disabled = !s.release;
  showSchema();
}
function showSchema() {
  const schema = state && state.model.commands[$("method").value];
  const describe = (f) => f.type === "enum" ? f.values.join(" | ") : f.type === "integer" || f.type === "double" ? f.type + " " + f.min + ".." + f.max : f.type === "string" ? "string ≤ " + f.maxLength : f.type;
  const fields = schema ? Object.entries(schema.fields) : [];
  $("method-schema").textContent = !schema ? "" : fields.length === 0 ? "no arguments" : fields.map(([k, f]) => k + ((schema.optional || []).includes(k) ? "?" : "") + ": " + describe(f)).join(" · ");
}
$("method").addEventListener("change", showSchema);
$("invoke").addEventListener("click", async () => {
  let payload;
  try { payload = JSON.parse($("method-payload").value || "{}"); } catch (e) { $("method-result").textContent = "payload is not JSON: " + e.message; return; }
  $("method-result").textContent = "…";
  const r = await api("POST", "/api/methods/" + $("method").value, { payload });
  $("method-result").textContent = r.status === 200 ? "status " + r.json.status + "\\n" + JSON.stringify(r.json.payload, null, 1) : "refused (" + r.status + "): " + r.json.error;
  $("method-result").dataset.status = r.status === 200 ? String(r.json.status) : "refused";
});
$("set-desired").addEventListener("click", async () => {
  const name = $("setting").value, text = $("setting-value").value.trim();
  let value = text;
  try { value = JSON.parse(text); } catch (e) { /* a bare string stays a string */ }
  const r = await api("POST", "/api/twin/desired", { patch: { [name]: value } });
  $("desired-result").textContent = r.status === 200 ? "desired $version " + r.json.version : "refused: " + r.json.error;
});
$("send-c2d").addEventListener("click", async () => {
  const r = await api("POST", "/api/c2d", { body: $("c2d-body").value });
  $("c2d-result").textContent = r.status === 200 ? "sent " + r.json.messageId : "refused: " + r.json.error;
});
$("release").addEventListener("click", async () => {
  const r = await api("POST", "/api/release");
  $("fw-error").textContent = r.status === 200 ? "" : r.json.error;
  if (r.status === 200) $("fw-target").textContent = r.json.version;
});
function connect() {
  const es = new EventSource("/api/events?token=" + encodeURIComponent(token));
  es.addEventListener("open", () => { $("conn").textContent = "live"; });
  es.addEventListener("error", () => { $("conn").textContent = token ? "reconnecting…" : "no token in the address: open the URL npm start printed"; });
  es.addEventListener("state", (e) => load(JSON.parse(e.data)));
  es.addEventListener("device", (e) => { const v = JSON.parse(e.data); if (state && (v.deviceId !== state.device.deviceId || v.profile.name !== state.device.profile.name)) drawDevice(v); if (state) state.device = v; showDevice(v); });
  es.addEventListener("led", (e) => { const c = JSON.parse(e.data); const el = $("led-" + (c.index + 1)); if (el) paintLed(el, c.spec); });
  es.addEventListener("telemetry", (e) => addTelemetry(JSON.parse(e.data)));
  es.addEventListener("reported", (e) => showTwin(null, JSON.parse(e.data)));
  es.addEventListener("desired", (e) => showTwin(JSON.parse(e.data), null));
}
connect();
</script>
</body>
</html>
`;
