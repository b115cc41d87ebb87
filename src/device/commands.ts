import type { HubClient } from "../azure/hub-client";
import { MethodError } from "../azure/direct-methods";
import type { CloudMessage } from "../azure/cloud-messages";
import type { ScopedLogger } from "../ports/logger";
import { fromUtf8 } from "../core/bytes";
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
