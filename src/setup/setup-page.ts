import { toJson } from "../core/json";
/**
 * The setup page: one self-contained document (inline style and script, no external assets, a few KB) that lists
 * the scanned networks, takes the passphrase, tries the join and shows the result and the device's status. Text in
 * German or English by the browser's Accept-Language; SSIDs and messages are set as text, never as markup.
 */
export type SetupLanguage = "de" | "en";

/** The first of de/en in Accept-Language by quality ("de-AT,en;q=0.8" → de); English when neither is asked for. */
export function pickLanguage(header: string | undefined): SetupLanguage {
  let best: SetupLanguage = "en";
  let bestQ = -1;
  for (const part of (header ?? "").split(",").slice(0, 20)) {
    const [tag = "", ...params] = part.trim().toLowerCase().split(";");
    const primary = tag.split("-")[0];
    if (primary !== "de" && primary !== "en") continue;
    const q = params.map((p) => /^\s*q=([01](\.\d{0,3})?)\s*$/.exec(p)).find((m) => m)?.[1];
    const quality = q === undefined ? 1 : Number(q);
    if (quality > bestQ) {
      best = primary;
      bestQ = quality;
    }
  }
  return bestQ > 0 ? best : "en";
}

const TEXT: Record<SetupLanguage, Record<string, string>> = {
  en: {
    title: "KIS.ME device setup",
    device: "Device",
    profile: "Product",
    firmware: "Firmware",
    cloud: "Cloud reached",
    yes: "yes",
    no: "not yet",
    stored: "Stored network",
    none: "none",
    networks: "Wi-Fi networks",
    scanning: "Scanning…",
    rescan: "Scan again",
    noNetworks: "No networks found.",
    passphrase: "Wi-Fi password",
    join: "Connect",
    joining: "Connecting…",
    joined: "Connected to {ssid}, address {ip}. The device goes online now; you can close this page.",
    "wrong-passphrase": "{ssid} did not accept the password. Check it and try again.",
    "not-found": "{ssid} was not found. Move the device closer to the access point and scan again.",
    failed: "Could not connect to {ssid}: {detail}",
    error: "Error: {detail}",
    pick: "Choose a network first.",
    short: "The password needs 8 to 63 characters (or 64 hex digits).",
    open: "open network: not supported",
    wep: "WEP: not supported (insecure)",
    sae: "WPA3 only: not supported (turn on WPA2/WPA3 mode)",
    enterprise: "Enterprise (802.1X): not supported",
    unknown: "unknown security: not supported",
  },
  de: {
    title: "KIS.ME Geräteeinrichtung",
    device: "Gerät",
    profile: "Produkt",
    firmware: "Firmware",
    cloud: "Cloud erreicht",
    yes: "ja",
    no: "noch nicht",
    stored: "Gespeichertes Netz",
    none: "keins",
    networks: "WLAN-Netze",
    scanning: "Suche läuft…",
    rescan: "Neu suchen",
    noNetworks: "Keine Netze gefunden.",
    passphrase: "WLAN-Passwort",
    join: "Verbinden",
    joining: "Verbinde…",
    joined: "Mit {ssid} verbunden, Adresse {ip}. Das Gerät geht jetzt online; Sie können diese Seite schließen.",
    "wrong-passphrase": "{ssid} hat das Passwort abgelehnt. Bitte prüfen und erneut versuchen.",
    "not-found": "{ssid} wurde nicht gefunden. Gerät näher an den Access Point bringen und neu suchen.",
    failed: "Verbindung mit {ssid} fehlgeschlagen: {detail}",
    error: "Fehler: {detail}",
    pick: "Bitte zuerst ein Netz wählen.",
    short: "Das Passwort braucht 8 bis 63 Zeichen (oder 64 Hex-Ziffern).",
    open: "offenes Netz: nicht unterstützt",
    wep: "WEP: nicht unterstützt (unsicher)",
    sae: "nur WPA3: nicht unterstützt (WPA2/WPA3-Modus einschalten)",
    enterprise: "Enterprise (802.1X): nicht unterstützt",
    unknown: "unbekannte Sicherheit: nicht unterstützt",
  },
};

const STYLE = `*{box-sizing:border-box}body{font:16px/1.4 system-ui,sans-serif;margin:0;padding:12px;max-width:480px;margin:auto;color:#222}
h1{font-size:1.3em}h2{font-size:1.1em;margin:1em 0 .4em}dl{display:grid;grid-template-columns:auto 1fr;gap:2px 10px;margin:0}dd{margin:0;word-break:break-all}
ul{list-style:none;padding:0;margin:0}li label{display:flex;gap:8px;align-items:center;padding:8px;border:1px solid #ccc;border-radius:6px;margin:4px 0}
li.off{color:#888}li small{display:block}.n{flex:1;min-width:0;overflow-wrap:anywhere}input[type=password]{width:100%;padding:10px;font-size:1em;margin:4px 0}
button{width:100%;padding:12px;font-size:1em;margin:6px 0;border:0;border-radius:6px;background:#0a5;color:#fff}button.s{background:#666}
#result{padding:8px;border-radius:6px}#result[data-result=joined]{background:#dfd}#result[data-result]:not([data-result=joined]){background:#fdd}`;

const SCRIPT = `const T=JSON.parse(document.getElementById("t").textContent);let token="";
const $=(i)=>document.getElementById(i),f=(k,v)=>T[k].replace(/\\{(\\w+)\\}/g,(_,n)=>String(v[n]??""));
const why={open:"open",wep:"wep","wpa3-sae":"sae","wpa2-enterprise":"enterprise","wpa3-enterprise":"enterprise",unknown:"unknown"};
function show(r,text){const e=$("result");e.dataset.result=r;e.textContent=text}
async function status(){const s=await (await fetch("/api/status")).json();token=s.token;
$("id").textContent=s.deviceId;$("pr").textContent=s.profile;$("fw").textContent=s.firmwareVersion;
$("cl").textContent=s.cloudReached?T.yes:T.no;$("st").textContent=s.storedSsid??T.none}
async function scan(){const l=$("networks");l.textContent=T.scanning;try{const r=await (await fetch("/api/networks")).json();l.textContent="";
if(!r.networks||!r.networks.length){l.textContent=T.noNetworks;return}
for(const n of r.networks){const li=document.createElement("li"),lb=document.createElement("label"),i=document.createElement("input"),s=document.createElement("span");
i.type="radio";i.name="ssid";i.value=n.ssid;i.disabled=!n.selectable;s.className="n";s.textContent=n.ssid;const m=document.createElement("small");
m.textContent=n.signal+"% · "+n.securityLabel+(n.selectable?"":" · "+(T[why[n.security]]||n.reason));s.append(m);lb.append(i,s);li.append(lb);
if(!n.selectable)li.className="off";l.append(li)}}catch(e){l.textContent=f("error",{detail:e.message})}}
$("f").addEventListener("submit",async(ev)=>{ev.preventDefault();const c=document.querySelector("input[name=ssid]:checked");
if(!c)return show("error",T.pick);const p=$("passphrase").value;if(!/^([ -~]{8,63}|[0-9a-fA-F]{64})$/.test(p))return show("error",T.short);
const b=$("join");b.disabled=true;show("joining",T.joining);delete $("result").dataset.result;
try{const r=await fetch("/api/join",{method:"POST",headers:{"content-type":"application/json","x-setup-token":token},body:JSON.stringify({ssid:c.value,passphrase:p})});
const j=await r.json();if(j.result)show(j.result,f(j.result in T?j.result:"failed",{ssid:c.value,ip:j.ip,detail:j.detail}));else show("error",f("error",{detail:j.error}));
if(j.result==="joined"){$("passphrase").value="";status()}}catch(e){show("error",f("error",{detail:e.message}))}finally{b.disabled=false}});
$("rescan").addEventListener("click",scan);status().catch((e)=>show("error",f("error",{detail:e.message})));scan();`;

/** The page in `language`. */
export function setupPage(language: SetupLanguage): string {
  const t = TEXT[language];
  // The dictionary goes in as JSON inside a non-executed script element; "<" is escaped so no text can end it.
  const dictionary = toJson(t).replace(/</g, "\\u003c");
  return `<!doctype html><html lang="${language}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${t.title}</title><style>${STYLE}</style></head><body><h1>${t.title}</h1>
<dl><dt>${t.device}</dt><dd id="id"></dd><dt>${t.profile}</dt><dd id="pr"></dd><dt>${t.firmware}</dt><dd id="fw"></dd><dt>${t.cloud}</dt><dd id="cl"></dd><dt>${t.stored}</dt><dd id="st"></dd></dl>
<form id="f"><h2>${t.networks}</h2><ul id="networks"></ul><button type="button" class="s" id="rescan">${t.rescan}</button>
<label for="passphrase">${t.passphrase}</label><input id="passphrase" type="password" autocomplete="off" maxlength="64">
<button id="join" type="submit">${t.join}</button><p id="result" role="status" aria-live="polite"></p></form>
<script type="application/json" id="t">${dictionary}</script><script>${SCRIPT}</script></body></html>`;
}
