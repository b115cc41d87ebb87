import type { HubClient } from "../azure/hub-client";
import { MethodError } from "../azure/direct-methods";
import type { CloudMessage } from "../azure/cloud-messages";
import type { ScopedLogger } from "../ports/logger";
import type { Clock, TimerId } from "../ports/clock";
import type { RebootLimiter } from "../boot/reboot-limit";
import { fromUtf8, truncateText, utf8Length } from "../core/bytes";
import { errorMessage } from "../core/listeners";
import { COMMANDS, SchemaError, checkMessage } from "./schema";

export type CommandHandler = (args: Record<string, unknown>) => unknown | Promise<unknown>;

/**
 * Registers a product's commands as direct methods, each behind the schema (invalid arguments → 400 with the
 * reason, nothing changed), and accepts the same commands as cloud-to-device messages
 * `{"method": "<name>", "payload": {...}}` (there is nobody to answer: results and refusals are logged).
 */
export class Commands {
  private readonly handlers = new Map<string, CommandHandler>();

  constructor(
    private readonly hub: HubClient,
    private readonly logger: ScopedLogger,
  ) {
    hub.onCloudMessage((message) => this.onCloudMessage(message));
  }

  register(name: string, handler: CommandHandler): void {
    const schema = COMMANDS[name];
    if (!schema) throw new RangeError(`command ${name} is not declared in the schema`);
    this.handlers.set(name, handler);
    this.hub.methods.register(name, (payload) => this.run(name, payload ?? {}));
  }

  /** Validates and runs a command; SchemaError becomes a 400. */
  run(name: string, payload: unknown): unknown | Promise<unknown> {
    const handler = this.handlers.get(name);
    if (!handler) throw new MethodError(404, `unknown command: ${name}`);
    let args: Record<string, unknown>;
    try {
      args = checkMessage(name, payload, COMMANDS[name]!);
    } catch (error) {
      throw new MethodError(400, errorMessage(error));
    }
    return handler(args);
  }

  private onCloudMessage(message: CloudMessage): void {
    let command: { method?: unknown; payload?: unknown };
    try {
      command = JSON.parse(fromUtf8(message.payload)) as typeof command;
    } catch {
      this.logger.warn("cloud-to-device message is not a command (malformed JSON)", { id: message.messageId });
      return;
    }
    if (typeof command !== "object" || command === null || typeof command.method !== "string") {
      this.logger.warn("cloud-to-device message is not a command", { id: message.messageId });
      return;
    }
    const name = command.method;
    Promise.resolve()
      .then(() => this.run(name, command.payload ?? {}))
      .then(
        () => this.logger.info("command from cloud-to-device message done", { method: name, id: message.messageId }),
        (error: unknown) =>
          this.logger.warn("command from cloud-to-device message refused", {
            method: name,
            id: message.messageId,
            error: errorMessage(error),
            status: error instanceof MethodError ? error.status : error instanceof SchemaError ? 400 : 500,
          }),
      );
  }
}

/** The shortest reboot delay: the method's answer reaches the hub before the device goes (also the schema's minimum). */
export const REBOOT_MIN_DELAY_MS = 1000;
/** getLog's reply: at most this many bytes of log text (UTF-8), far below IoT Hub's 128 KB method payload. */
export const GET_LOG_MAX_BYTES = 16 * 1024;
/** getLog: a longer line is cut to this many characters, ending in "…". */
export const GET_LOG_MAX_LINE_CHARS = 512;

export interface RebootCommandOptions {
  readonly clock: Clock;
  readonly limiter: RebootLimiter;
  readonly logger: ScopedLogger;
  /** Restarts the device (orderly: the firmware says goodbye to the hub first); absent: the platform cannot. */
  readonly restart: ((reason: string) => void) | undefined;
  /** When the call gives no delayMs (default REBOOT_MIN_DELAY_MS). */
  readonly defaultDelayMs?: number;
}

/**
 * The `reboot` command: restarts after `delayMs` (at least REBOOT_MIN_DELAY_MS, so the answer is sent first),
 * at most `limiter.max` times per window across reboots; beyond that 429 with the reason and `nextAllowedAt`
 * (ISO time) / `retryAfterS`. A call while a reboot is already scheduled answers with the time left and is not
 * counted again.
 */
export function rebootCommand(options: RebootCommandOptions): CommandHandler {
  let dueAt: number | undefined;
  return (args) => {
    const restart = options.restart;
    if (!restart) throw new Error("this platform cannot restart");
    const now = options.clock.monotonic();
    if (dueAt !== undefined) return { rebootInMs: Math.max(0, dueAt - now), alreadyScheduled: true };
    const asked = typeof args.delayMs === "number" ? args.delayMs : (options.defaultDelayMs ?? REBOOT_MIN_DELAY_MS);
    const delayMs = Math.max(REBOOT_MIN_DELAY_MS, asked);
    const decision = options.limiter.acquire();
    if (!decision.allowed) {
      const details: Record<string, unknown> = { reason: decision.reason };
      if (decision.nextAllowedAt !== undefined) {
        details.nextAllowedAt = new Date(decision.nextAllowedAt).toISOString();
        details.retryAfterS = Math.max(1, Math.ceil((decision.nextAllowedAt - options.clock.now()) / 1000));
      }
      options.logger.warn("reboot refused", { reason: decision.reason, ...details });
      throw new MethodError(429, decision.message, details);
    }
    options.logger.warn("reboot requested by the cloud", { delayMs });
    dueAt = now + delayMs;
    options.clock.setTimeout(() => restart("reboot command"), delayMs); // answer first
    return { rebootInMs: delayMs };
  };
}

/**
 * getLog's reply: the newest lines that fit GET_LOG_MAX_BYTES (as JSON strings in UTF-8), each cut to
 * GET_LOG_MAX_LINE_CHARS; `omitted` tells how many older lines did not fit (absent when none).
 */
export function boundedLog(lines: readonly string[], maxBytes = GET_LOG_MAX_BYTES, maxLineChars = GET_LOG_MAX_LINE_CHARS): { lines: string[]; omitted?: number } {
  const kept: string[] = [];
  let bytes = 0;
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = truncateText(lines[i]!, maxLineChars);
    const size = utf8Length(JSON.stringify(line)) + 1; // as it is sent: quoted, escaped, and a comma
    if (bytes + size > maxBytes) {
      kept.reverse();
      return { lines: kept, omitted: i + 1 };
    }
    bytes += size;
    kept.push(line);
  }
  kept.reverse();
  return { lines: kept };
}


/**
 * The `identify` blink: one timer however often it is called (each call restarts the blink for its `seconds`),
 * so repeated calls cannot pile up timers; `show()` starts it, `restore()` ends it.
 */
export function identifyCommand(clock: Clock, show: () => void, restore: () => void, defaultSeconds = 10): CommandHandler {
  let timer: TimerId | undefined;
  return (args) => {
    const seconds = typeof args.seconds === "number" ? args.seconds : defaultSeconds;
    if (timer !== undefined) clock.clearTimeout(timer);
    show();
    timer = clock.setTimeout(() => {
      timer = undefined;
      restore();
    }, seconds * 1000);
    return { seconds };
  };
}
