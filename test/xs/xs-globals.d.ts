/**
 * What the XS lane's host (xsnap-worker, driven by scripts/run-xs.mjs) provides besides ES2022. There is no
 * setTimeout, console or Node API inside XS.
 */

/** Prints its arguments, space-separated, to the worker's stdout. */
declare function print(...values: unknown[]): void;

/** Sends bytes to the host (scripts/run-xs.mjs onCommand) and returns its answer; blocks until it comes. */
declare function issueCommand(message: ArrayBuffer): ArrayBuffer;

/** Runs `callback` after the current job queue has drained (the only deferral XS's worker offers). */
declare function setImmediate(callback: (...args: unknown[]) => void, ...args: unknown[]): unknown;

declare class TextEncoder {
  encode(text: string): Uint8Array;
}

declare class TextDecoder {
  decode(bytes: Uint8Array | ArrayBuffer): string;
}
