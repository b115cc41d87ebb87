/**
 * The XS lane's entry inside xsnap-worker: installs the BDD globals, the fixture source and the host hooks, runs the
 * test files it is given and streams every event to the host (scripts/run-xs.mjs) through issueCommand. The bundle's
 * generated entry only lists the files: `main([{ file, load: () => import(file) }, ...])`.
 */
import { idle, install, runFiles, uncaught, unhandledRejection, type RunnerEvent } from "./bdd-runner";

type Host = typeof globalThis & {
  __testFixture?: (name: string) => string;
  __xsLane?: { poll(): ArrayBuffer };
  console?: unknown;
};

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const bytes = (text: string): ArrayBuffer => encoder.encode(text).slice().buffer as ArrayBuffer;
const send = (event: RunnerEvent | { type: "fatal"; message: string }): void => {
  issueCommand(bytes(JSON.stringify(event)));
};

export function main(files: ReadonlyArray<{ file: string; load: () => unknown }>): void {
  const host = globalThis as Host;
  let done = false;
  host.__testFixture = (name) => {
    const text = decoder.decode(new Uint8Array(issueCommand(bytes(JSON.stringify({ type: "fixture", name })))));
    if (text.startsWith("!")) throw new Error(text.slice(1));
    return text;
  };
  // The host evaluates poll() whenever the worker's job queue has drained: an unfinished run then waits, between two
  // tests or on a promise that can never settle, and idle() ends that wait ("continued"), so the run goes on.
  host.__xsLane = { poll: () => bytes(done ? "done" : idle() ? "continued" : "waiting") };
  // A throwing setImmediate callback would end the worker: route it to the runner instead.
  const nativeSetImmediate = setImmediate;
  Object.defineProperty(globalThis, "setImmediate", {
    configurable: true,
    writable: true,
    value: (callback: (...args: unknown[]) => void, ...args: unknown[]) =>
      nativeSetImmediate(() => {
        try {
          callback(...args);
        } catch (error) {
          uncaught(error);
        }
      }),
  });
  // XS reports unhandled rejections through console.error (after each evaluate's job queue drains).
  Object.defineProperty(globalThis, "console", {
    configurable: true,
    writable: true,
    value: {
      error(label: unknown, ...rest: unknown[]) {
        if (label === "UnhandledPromiseRejectionWarning:") unhandledRejection(rest[0]);
        else print(label, ...rest);
      },
    },
  });
  // As on the device, where the XS linker freezes every preloaded built-in: assigning to a property that a frozen
  // prototype defines (the classic: `this.name = "X"` in an Error subclass) throws here too, not only on hardware.
  for (const key of Object.getOwnPropertyNames(globalThis)) {
    const value: unknown = (globalThis as Record<string, unknown>)[key];
    if (!/^[A-Z]/.test(key) || (typeof value !== "function" && (typeof value !== "object" || value === null))) continue;
    Object.freeze(value);
    if (typeof value === "function" && value.prototype) Object.freeze(value.prototype);
  }
  install(globalThis);
  runFiles(files, send).then(
    () => {
      done = true;
    },
    (error: unknown) => {
      send({ type: "fatal", message: String((error instanceof Error && error.stack) || error) });
      done = true;
    },
  );
}
