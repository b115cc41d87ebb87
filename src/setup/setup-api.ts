import type { Clock } from "../ports/clock";
import type { Random } from "../ports/random";
import { randomHex } from "../ports/random";
import type { ScopedLogger } from "../ports/logger";
import type { HttpRequest, HttpResponse } from "../ports/http-server";
import { MAX_REQUEST_BODY_BYTES } from "../ports/http-server";
import type { WifiAuthMode, WifiNetwork } from "../ports/wifi";
import { errorMessage } from "../core/listeners";
import { unsupportedReason, validatePassphrase, validateSsid, type WifiCredentials } from "../wifi/wifi-credentials";
import type { JoinOutcome } from "./setup-join";
import { pickLanguage, setupPage } from "./setup-page";
import { toJson } from "../core/json";

/** What GET /api/status reports about the device. */
export interface SetupDeviceInfo {
  readonly deviceId: string;
  readonly profile: "box" | "light";
  readonly firmwareVersion: string;
  /** Whether this device has reached the IoT Hub (now, or on an earlier boot). */
  readonly cloudReached: boolean;
}

export interface SetupApiOptions {
  readonly clock: Clock;
  /** For the session token (the device's system random: it guards the POSTs). */
  readonly random: Random;
  readonly info: () => SetupDeviceInfo;
  /** The SSID of the stored network, if any (never its passphrase). */
  readonly storedSsid: () => string | undefined;
  readonly scan: () => Promise<WifiNetwork[]>;
  /** One join attempt with the station interface (joinOnce over the radio). */
  readonly join: (ssid: string, passphrase: string) => Promise<JoinOutcome>;
  /** Stores joined credentials (the `wifi` section of the configuration store); throws when it cannot. */
  readonly save: (credentials: WifiCredentials) => void;
  /** Called after a successful join has been saved (setup mode then ends). */
  readonly onJoined?: (ssid: string, ip: string) => void;
  /** Called on every request (setup mode's client activity). */
  readonly onActivity?: () => void;
  /** Join attempts allowed per window (default 5 per minute): a guessing client is slowed to a crawl. */
  readonly maxJoins?: number;
  readonly joinWindowMs?: number;
  /**
   * Host header values the API answers (e.g. "192.168.4.1", "127.0.0.1:8080"); any other host is sent to
   * `portalUrl` (GET) or refused (403): a page elsewhere cannot reach the API by DNS rebinding. Unset: any host.
   */
  readonly hosts?: readonly string[];
  /** Where captive-portal probes and unknown pages are redirected (default "/"). */
  readonly portalUrl?: string;
  readonly logger?: ScopedLogger;
}

/** At most this many networks are listed (strongest first; one entry per SSID). */
export const MAX_LISTED_NETWORKS = 30;
const TOKEN_HEADER = "x-setup-token";

const SECURITY_LABELS: Record<WifiAuthMode, string> = {
  open: "open",
  wep: "WEP",
  "wpa-psk": "WPA-PSK",
  "wpa2-psk": "WPA2-PSK",
  "wpa-wpa2-psk": "WPA/WPA2-PSK",
  "wpa2-wpa3-psk": "WPA2/WPA3-PSK",
  "wpa3-sae": "WPA3-SAE",
  "wpa2-enterprise": "WPA2-Enterprise",
  "wpa3-enterprise": "WPA3-Enterprise",
  unknown: "unknown",
};

export interface ListedNetwork {
  readonly ssid: string;
  readonly rssi: number;
  /** 0..100 from the RSSI (-90 dBm → 0, -30 dBm → 100). */
  readonly signal: number;
  readonly security: WifiAuthMode;
  readonly securityLabel: string;
  readonly selectable: boolean;
  readonly reason?: string;
}

/** Why setup cannot join a network of this security, or undefined when it can (the rules of src/wifi). */
export function setupRefusal(mode: WifiAuthMode): string | undefined {
  // Setup always joins with a passphrase; open networks are refused like src/wifi refuses them by default.
  if (mode === "open") return "open networks (no security) are not supported; use WPA2-PSK";
  return unsupportedReason(mode, { ssid: "x", passphrase: "placeholder" });
}

export function listNetworks(scanned: readonly WifiNetwork[]): ListedNetwork[] {
  const best = new Map<string, WifiNetwork>();
  for (const n of scanned) {
    if (typeof n.ssid !== "string" || n.ssid.length === 0) continue; // hidden networks are not listed
    const seen = best.get(n.ssid);
    if (!seen || n.rssi > seen.rssi) best.set(n.ssid, n);
  }
  return [...best.values()]
    .sort((a, b) => b.rssi - a.rssi)
    .slice(0, MAX_LISTED_NETWORKS)
    .map((n) => {
      const reason = setupRefusal(n.authMode);
      return {
        ssid: n.ssid,
        rssi: n.rssi,
        signal: Math.max(0, Math.min(100, Math.round(((n.rssi + 90) * 100) / 60))),
        security: n.authMode,
        securityLabel: SECURITY_LABELS[n.authMode] ?? "unknown",
        selectable: reason === undefined,
        ...(reason !== undefined ? { reason } : {}),
      };
    });
}

const JSON_HEADERS = Object.freeze({ "content-type": "application/json; charset=utf-8", "cache-control": "no-store", "x-content-type-options": "nosniff" });
// The page is one document with inline style and script; nothing may be loaded from anywhere.
const PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; connect-src 'self'; img-src data:; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

function json(status: number, body: unknown, extra: Record<string, string> = {}): HttpResponse {
  return { status, headers: { ...JSON_HEADERS, ...extra }, body: toJson(body) };
}

/**
 * The setup page and its JSON API under /api/ (documented in the README, "Set up a device"):
 *
 *   GET  /              the page (German or English by Accept-Language)
 *   GET  /api/status    device id, profile, firmware version, cloud reached, stored SSID, setup session token
 *   GET  /api/networks  the scan: SSID, signal, security, selectable or the reason not
 *   POST /api/join      {ssid, passphrase} with header X-Setup-Token: joins, saves on success, answers
 *                       {result: "joined", ip} | {result: "wrong-passphrase" | "not-found" | "failed", detail}
 *
 * One instance is one setup session: its token is fresh and dies with it. The passphrase is never sent back.
 */
export class SetupApi {
  readonly token: string;
  private readonly maxJoins: number;
  private readonly joinWindowMs: number;
  private joins: number[] = [];
  private joining = false;

  constructor(private readonly options: SetupApiOptions) {
    this.token = randomHex(options.random, 32);
    this.maxJoins = options.maxJoins ?? 5;
    this.joinWindowMs = options.joinWindowMs ?? 60_000;
  }

  /** Never rejects: a failing handler answers 500. */
  async handle(request: HttpRequest): Promise<HttpResponse> {
    try {
      this.options.onActivity?.();
      return await this.route(request);
    } catch (error) {
      this.options.logger?.error("setup request failed", { method: request.method, path: request.path, error: errorMessage(error) });
      return json(500, { error: "internal error" });
    }
  }

  private async route(request: HttpRequest): Promise<HttpResponse> {
    const { method, path } = request;
    const hosts = this.options.hosts;
    if (hosts && !hosts.includes((request.headers.host ?? "").toLowerCase())) {
      // Captive-portal probes ask for other names (the DNS responder sent them here): show them the page.
      return method === "GET" || method === "HEAD" ? this.redirect() : json(403, { error: "unknown host" });
    }
    if (path === "/" || path === "/index.html") {
      if (method !== "GET" && method !== "HEAD") return json(405, { error: "method not allowed" }, { allow: "GET" });
      const language = pickLanguage(request.headers["accept-language"]);
      return {
        status: 200,
        headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-store", "content-security-policy": PAGE_CSP, "x-content-type-options": "nosniff", "content-language": language },
        body: method === "HEAD" ? "" : setupPage(language),
      };
    }
    if (path === "/api/status") return method === "GET" ? this.status() : json(405, { error: "method not allowed" }, { allow: "GET" });
    if (path === "/api/networks") return method === "GET" ? this.networks() : json(405, { error: "method not allowed" }, { allow: "GET" });
    if (path === "/api/join") return method === "POST" ? this.join(request) : json(405, { error: "method not allowed" }, { allow: "POST" });
    if (path.startsWith("/api/")) return json(404, { error: "no such API" });
    return method === "GET" || method === "HEAD" ? this.redirect() : json(404, { error: "not found" });
  }

  private redirect(): HttpResponse {
    return { status: 302, headers: { location: this.options.portalUrl ?? "/", "cache-control": "no-store" }, body: "" };
  }

  private status(): HttpResponse {
    const info = this.options.info();
    return json(200, {
      deviceId: info.deviceId,
      profile: info.profile,
      firmwareVersion: info.firmwareVersion,
      cloudReached: info.cloudReached,
      storedSsid: this.options.storedSsid() ?? null,
      token: this.token,
    });
  }

  private async networks(): Promise<HttpResponse> {
    let scanned: WifiNetwork[];
    try {
      scanned = await this.options.scan();
    } catch (error) {
      return json(503, { error: `scan failed: ${errorMessage(error)}` });
    }
    return json(200, { networks: listNetworks(scanned) });
  }

  private async join(request: HttpRequest): Promise<HttpResponse> {
    if (!this.tokenMatches(request.headers[TOKEN_HEADER])) return json(403, { error: "missing or wrong X-Setup-Token (reload the page)" });
    if (!/^application\/json(\s*;.*)?$/i.test(request.headers["content-type"] ?? "")) return json(415, { error: "Content-Type must be application/json" });
    if (request.body.length > MAX_REQUEST_BODY_BYTES) return json(413, { error: "body too large" });
    let body: unknown;
    try {
      body = JSON.parse(request.body);
    } catch {
      return json(400, { error: "body is not JSON" });
    }
    const { ssid, passphrase } = (typeof body === "object" && body !== null ? body : {}) as { ssid?: unknown; passphrase?: unknown };
    if (typeof ssid !== "string" || typeof passphrase !== "string") return json(400, { error: "ssid and passphrase (strings) are required" });
    try {
      validateSsid(ssid);
      validatePassphrase(passphrase);
    } catch (error) {
      return json(400, { error: errorMessage(error) });
    }
    if (this.joining) return json(409, { error: "a join is already in progress" });
    const now = this.options.clock.monotonic();
    this.joins = this.joins.filter((t) => now - t < this.joinWindowMs);
    if (this.joins.length >= this.maxJoins) {
      const retryAfterS = Math.max(1, Math.ceil((this.joins[0]! + this.joinWindowMs - now) / 1000));
      return json(429, { error: `too many join attempts: at most ${this.maxJoins} per ${Math.round(this.joinWindowMs / 1000)} s`, retryAfterS }, { "retry-after": String(retryAfterS) });
    }
    this.joins.push(now);
    this.joining = true;
    try {
      return await this.tryJoin(ssid, passphrase);
    } finally {
      this.joining = false;
    }
  }

  private async tryJoin(ssid: string, passphrase: string): Promise<HttpResponse> {
    const log = this.options.logger;
    let scanned: WifiNetwork[];
    try {
      scanned = await this.options.scan();
    } catch (error) {
      return json(503, { error: `scan failed: ${errorMessage(error)}` });
    }
    const network = listNetworks(scanned).find((n) => n.ssid === ssid);
    if (!network) return json(200, { result: "not-found", ssid, detail: "the network is not in range" });
    if (!network.selectable) return json(400, { error: network.reason ?? "unsupported network" });
    log?.info("setup: joining", { ssid });
    const outcome = await this.options.join(ssid, passphrase);
    if (outcome.result !== "joined") {
      log?.warn("setup: join failed", { ssid, result: outcome.result, detail: outcome.detail });
      return json(200, { result: outcome.result, ssid, detail: outcome.detail });
    }
    try {
      this.options.save({ ssid, passphrase });
    } catch (error) {
      log?.error("setup: credentials not saved", { ssid, error: errorMessage(error) });
      return json(500, { error: `joined, but the credentials could not be saved: ${errorMessage(error)}` });
    }
    log?.info("setup: joined and saved", { ssid, ip: outcome.ip });
    this.options.onJoined?.(ssid, outcome.ip);
    return json(200, { result: "joined", ssid, ip: outcome.ip });
  }

  private tokenMatches(given: string | undefined): boolean {
    if (typeof given !== "string" || given.length !== this.token.length) return false;
    let diff = 0;
    for (let i = 0; i < given.length; i++) diff |= given.charCodeAt(i) ^ this.token.charCodeAt(i);
    return diff === 0;
  }
}
