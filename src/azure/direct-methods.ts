import type { ScopedLogger } from "../ports/logger";
import { fromUtf8 } from "../core/bytes";
import { errorMessage } from "../core/listeners";
import { toJson } from "../core/json";

/**
 * Thrown by a handler to answer with a specific status, e.g. 400 for invalid arguments. The body is
 * `{"error": message}`, plus the members of `details` when given (e.g. a 429's `nextAllowedAt`).
 */
export class MethodError extends Error {
  override readonly name = "MethodError";
  constructor(
    readonly status: number,
    message: string,
    readonly details?: Readonly<Record<string, unknown>>,
  ) {
    super(message);
  }
}

export interface MethodResult {
  readonly status: number;
  /** Serialised as the JSON response body. */
  readonly body: unknown;
}

/** A handler gets the parsed JSON payload (null when empty) and returns the response body. */
export type MethodHandler = (payload: unknown) => unknown | Promise<unknown>;

/**
 * Dispatches direct-method calls by name. Every call gets exactly one answer:
 * 200 with the handler's result, 400 for a malformed payload or a MethodError(400),
 * 404 for an unknown method, 500 when the handler fails. Never throws.
 */
export class DirectMethods {
  private readonly handlers = new Map<string, MethodHandler>();

  constructor(private readonly logger: ScopedLogger) {}

  register(name: string, handler: MethodHandler): void {
    if (!/^[A-Za-z0-9_\-.:]{1,100}$/.test(name)) throw new RangeError(`invalid method name ${JSON.stringify(name)}`);
    this.handlers.set(name, handler);
  }

  has(name: string): boolean {
    return this.handlers.has(name);
  }

  async invoke(name: string, payload: Uint8Array): Promise<MethodResult> {
    const handler = this.handlers.get(name);
    if (!handler) {
      this.logger.warn("unknown direct method", { method: name });
      return { status: 404, body: { error: `unknown method: ${name}` } };
    }
    let args: unknown = null;
    if (payload.length > 0) {
      try {
        args = JSON.parse(fromUtf8(payload));
      } catch (error) {
        return { status: 400, body: { error: `malformed payload: ${errorMessage(error)}` } };
      }
    }
    try {
      const body = await handler(args);
      return { status: 200, body: body === undefined ? null : body };
    } catch (error) {
      if (error instanceof MethodError) return { status: error.status, body: { error: error.message, ...error.details } };
      this.logger.error("direct method failed", { method: name, error: errorMessage(error) });
      return { status: 500, body: { error: `method ${name} failed` } };
    }
  }
}

/** Serialises a method result body; a body that cannot be serialised becomes a 500. */
export function encodeMethodBody(result: MethodResult): { status: number; json: string } {
  try {
    return { status: result.status, json: toJson(result.body) };
  } catch {
    // fall through
  }
  return { status: 500, json: toJson({ error: "method result is not serialisable" }) };
}
