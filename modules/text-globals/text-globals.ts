/**
 * Installs the SDK's TextEncoder and TextDecoder (modules "text/encoder", "text/decoder") as globals. The portable
 * core uses them as globals (as on Node and in xsnap), but a Moddable app has them only as modules. Import this
 * module before anything from src/ (src/main.ts imports it first).
 */
import TextEncoder from "text/encoder";
import TextDecoder from "text/decoder";

const global = globalThis as unknown as Record<string, unknown>;
global.TextEncoder ??= TextEncoder;
global.TextDecoder ??= TextDecoder;
