import type { JsonObject } from "../../src/azure/twin";
import type { PatternSpec } from "../../src/device/led-patterns";
import type { DeviceProfile } from "../../src/device/profile";
import { COMMANDS, GESTURES, PRODUCT_MODELS, SETTINGS, SchemaError, checkMessage, fieldProblem } from "../../src/device/schema";
import type { FirmwareReport } from "../../src/update/ota-manager";
import type { MethodResponse, ReceivedTelemetry } from "../hub/local-hub";

/** The hub's service side as the console uses it (LocalHub). */
export interface ConsoleHub {
  readonly telemetry: readonly ReceivedTelemetry[];
  readonly desired: JsonObject;
  readonly reported: JsonObject;
  onTelemetry(listener: (t: ReceivedTelemetry) => void): () => void;
  onReported(listener: (reported: JsonObject) => void): () => void;
  onDesired(listener: (desired: JsonObject) => void): () => void;
  updateDesired(patch: JsonObject): Promise<number>;
  invokeMethod(name: string, payload: unknown, timeoutMs?: number): Promise<MethodResponse>;
  sendCloudMessage(body: string, properties?: Record<string, string>): Promise<string>;
}

/** What the device looks like right now. */
export interface DeviceView {
  readonly deviceId: string;
  readonly profile: DeviceProfile;
  readonly phase: string;
  readonly hub: string | undefined;
  readonly link: string;
  readonly firmware: FirmwareReport | undefined;
  readonly leds: readonly (PatternSpec | undefined)[];
}

/** The simulated device and its cloud, as the console sees them. */
export interface ConsoleBackend {
  view(): DeviceView;
  /** KIS.BOX: presses a button with a gesture; returns the telemetry message id. Throws RangeError otherwise. */
  press(button: number, gesture: (typeof GESTURES)[number]): string;
  /** The local hub; undefined against a real hub (the console then shows the device only). */
  readonly hub: ConsoleHub | undefined;
  /** Publishes the next firmware release (the `u` key); undefined when there is no local blob store. */
  readonly release: (() => Promise<{ version: string; size: number }>) | undefined;
  /** Live changes for the page: "device" (a DeviceView), "led", "telemetry", "reported", "desired". */
  onEvent(listener: (name: string, data: unknown) => void): () => void;
}

export interface ApiRequest {
  readonly method: string;
  /** The path without the query. */
  readonly path: string;
  /** The parsed JSON body (undefined when there was none). */
  readonly body: unknown;
}

export interface ApiResponse {
  readonly status: number;
  readonly json: unknown;
}

const METHOD_PATH = /^\/api\/methods\/([A-Za-z][A-Za-z0-9_]{0,63})$/;
const MAX_C2D_BYTES = 64 * 1024;

function problem(status: number, error: string): ApiResponse {
  return { status, json: { error } };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * The console's JSON API (all under /api/, the token already checked by the server): reads and actions on the
 * simulated device and its hub. Input is checked against the device's own schema before anything is sent, so
 * the console cannot send the device what the cloud would not.
 */
export class ConsoleApi {
  constructor(private readonly backend: ConsoleBackend) {}

  /** The whole state the page starts from; later changes arrive as events. */
  state(): JsonObject {
    const view = this.backend.view();
    const model = PRODUCT_MODELS[view.profile.name];
    const hub = this.backend.hub;
    return {
      device: view,
      model: {
        displayName: model.displayName,
        commands: Object.fromEntries(model.commands.map((name) => [name, COMMANDS[name]])),
        settings: Object.fromEntries(model.settings.map((name) => [name, SETTINGS[name]])),
      },
      hub: hub ? { telemetry: hub.telemetry.slice(-200), desired: hub.desired, reported: hub.reported } : null,
      release: this.backend.release !== undefined,
    };
  }

  async handle(request: ApiRequest): Promise<ApiResponse> {
    const { method, path, body } = request;
    if (path === "/api/state") return method === "GET" ? { status: 200, json: this.state() } : problem(405, "GET only");
    if (method !== "POST") return path.startsWith("/api/") ? problem(405, "POST only") : problem(404, "not found");
    try {
      if (path === "/api/press") return this.press(body);
      if (path === "/api/twin/desired") return await this.desired(body);
      if (path === "/api/c2d") return await this.cloudMessage(body);
      if (path === "/api/release") return await this.releaseFirmware();
      const m = METHOD_PATH.exec(path);
      if (m) return await this.invoke(m[1]!, body);
    } catch (error) {
      if (error instanceof SchemaError || error instanceof RangeError) return problem(400, error.message);
      return problem(502, error instanceof Error ? error.message : String(error));
    }
    return problem(404, "not found");
  }

  private press(body: unknown): ApiResponse {
    if (this.backend.view().profile.name !== "box") return problem(409, "a KIS.LIGHT has no buttons");
    if (!isObject(body)) return problem(400, "expected {button, gesture}");
    const gesture = body["gesture"] ?? "short";
    if (typeof gesture !== "string" || !(GESTURES as readonly string[]).includes(gesture)) return problem(400, `gesture must be one of ${GESTURES.join(", ")}`);
    const button = body["button"];
    if (typeof button !== "number") return problem(400, "button must be a number");
    return { status: 200, json: { messageId: this.backend.press(button, gesture as (typeof GESTURES)[number]) } };
  }

  private hub(): ConsoleHub {
    const hub = this.backend.hub;
    if (!hub) throw new Error("no local hub in this run (the device is connected to a real hub)");
    return hub;
  }

  /** Desired twin settings: only the product's writable settings, each checked; null removes one. */
  private async desired(body: unknown): Promise<ApiResponse> {
    if (!isObject(body) || !isObject(body["patch"])) return problem(400, "expected {patch: {...}}");
    const patch = body["patch"];
    const allowed = PRODUCT_MODELS[this.backend.view().profile.name].settings;
    for (const [key, value] of Object.entries(patch)) {
      if (!allowed.includes(key)) return problem(400, `${key} is not a writable setting of this product (${allowed.join(", ")})`);
      const issue = value === null ? undefined : fieldProblem(value, SETTINGS[key]!);
      if (issue) return problem(400, `${key} ${issue}`);
    }
    if (Object.keys(patch).length === 0) return problem(400, "the patch is empty");
    const version = await this.hub().updateDesired(patch);
    return { status: 200, json: { version } };
  }

  private async invoke(name: string, body: unknown): Promise<ApiResponse> {
    const commands = PRODUCT_MODELS[this.backend.view().profile.name].commands;
    if (!commands.includes(name)) return problem(404, `${name} is not a command of this product (${commands.join(", ")})`);
    const payload = isObject(body) && "payload" in body ? body["payload"] : {};
    checkMessage(name, payload ?? {}, COMMANDS[name]!);
    const response = await this.hub().invokeMethod(name, payload ?? {});
    return { status: 200, json: response };
  }

  private async cloudMessage(body: unknown): Promise<ApiResponse> {
    if (!isObject(body) || typeof body["body"] !== "string") return problem(400, "expected {body: string, properties?: {...}}");
    const text = body["body"];
    if (new TextEncoder().encode(text).length > MAX_C2D_BYTES) return problem(400, `a cloud-to-device message is at most ${MAX_C2D_BYTES} bytes`);
    const properties = body["properties"] ?? {};
    if (!isObject(properties) || !Object.values(properties).every((v) => typeof v === "string")) return problem(400, "properties must map names to strings");
    const id = await this.hub().sendCloudMessage(text, properties as Record<string, string>);
    return { status: 200, json: { messageId: id } };
  }

  private async releaseFirmware(): Promise<ApiResponse> {
    const release = this.backend.release;
    if (!release) return problem(409, "no local blob storage in this run: releases need the local cloud");
    return { status: 200, json: await release() };
  }
}
