/**
 * The channel between the firmware and its device simulator in mcsim (simulators/kisbox.js, kislight.js): JSON
 * strings over the global `screen` that mcsim gives every app, `screen.postMessage` to the window and
 * `screen.onMessage` from it (the SDK's simulators/modules/control.js uses the same pair). One channel shared by
 * the lin adapters (buttons, button LEDs / segments, the on-board LED); a listener that throws is contained.
 *
 * Window → firmware: `{"button": n, "down": true|false}` (n from 1), `{"buttonsDown": [n, ...]}` (held at start).
 * Firmware → window: `{"leds": [[index, r, g, b], ...]}` (what the LED driver is told, after brightness and
 * gamma), `{"pattern": {index, pattern, color, periodMs?, brightness?}}` (what the pattern engine was asked to
 * show), `{"status": 0|1}` (the on-board LED), `{"query": "buttons"}` (at start: which buttons are held?).
 */
import { describePattern, type PatternSpec, type PatternTarget } from "device/led-patterns";

interface Screen {
  postMessage(message: string): void;
  onMessage?: (message: string | ArrayBuffer) => void;
}

export const SIM_WINDOW = true;

type Listener = (message: Record<string, unknown>) => void;
const listeners: Listener[] = [];
let installed = false;

function screen(): Screen | undefined {
  const s = (globalThis as { screen?: Screen }).screen;
  return s && typeof s.postMessage === "function" ? s : undefined;
}

export function postToWindow(message: object): void {
  try {
    screen()?.postMessage(JSON.stringify(message));
  } catch {
    // no window (or it went away): the firmware runs on without it
  }
}

export function onWindowMessage(listener: Listener): () => void {
  install();
  listeners.push(listener);
  return () => {
    const i = listeners.indexOf(listener);
    if (i >= 0) listeners.splice(i, 1);
  };
}

function install(): void {
  const s = screen();
  if (installed || !s) return;
  installed = true;
  s.onMessage = (message) => {
    if (typeof message !== "string") return;
    let json: unknown;
    try {
      json = JSON.parse(message);
    } catch {
      return;
    }
    if (typeof json !== "object" || json === null || Array.isArray(json)) return;
    for (const listener of listeners.slice()) {
      try {
        listener(json as Record<string, unknown>);
      } catch (error) {
        trace(`error [window] message listener failed: ${String(error)}\n`);
      }
    }
  };
}

/**
 * Passes every pattern on to `target` (the LedDriver that renders it) and tells the window and the trace what was
 * asked for, so the window can name the pattern next to the colours the driver produces.
 */
export function echoPatterns(target: PatternTarget): PatternTarget {
  return {
    set(index: number, spec: PatternSpec): void {
      target.set(index, spec);
      trace(`LED ${index} ${describePattern(spec)}\n`);
      const color = typeof spec.color === "string" ? spec.color : { r: spec.color.r, g: spec.color.g, b: spec.color.b };
      postToWindow({
        pattern: {
          index,
          pattern: spec.pattern,
          color,
          ...(spec.periodMs !== undefined ? { periodMs: spec.periodMs } : {}),
          ...(spec.brightness !== undefined ? { brightness: spec.brightness } : {}),
        },
      });
    },
  };
}
