import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { sleep } from "../../integration/support/processes";

const ROOT = join(__dirname, "../../../..");

/** The Moddable SDK's tools for the simulator, from MODDABLE (scripts/test-sim.mjs checks they exist). */
export function sdkPaths(variant: BuildVariant = "release"): { mcsim: string; app: (name: string) => string } {
  const moddable = process.env.MODDABLE;
  if (!moddable) throw new Error("MODDABLE is not set (run through npm run test:sim, which says what is missing)");
  return {
    mcsim: join(moddable, "build/bin/lin/release/mcsim"),
    // build-device.mjs builds into KISME_SDK_OUTPUT when it is set (one folder per checkout), else into the SDK.
    app: (name) => join(process.env.KISME_SDK_OUTPUT ? resolve(process.env.KISME_SDK_OUTPUT) : join(moddable, "build"), "bin/lin/mc", variant, name, "mc.so"),
  };
}

/** mcconfig's build kinds: release, or instrumented (`-i`: release code that prints XS heap samples every second). */
export type BuildVariant = "release" | "instrument";

/**
 * `node scripts/build-device.mjs lin --product ... --dev-credentials` with config overrides (the credentials from
 * `env.KISME_DEV_CREDENTIALS`); throws with mcconfig's output on failure.
 */
export function buildSimulator(product: "box" | "light", overrides: Record<string, string>, env: Record<string, string>, variant: BuildVariant = "release"): void {
  const flags = variant === "instrument" ? ["-i"] : [];
  const args = ["scripts/build-device.mjs", "lin", "--product", product, "--dev-credentials", ...flags, ...Object.entries(overrides).map(([k, v]) => `${k}=${v}`)];
  const result = spawnSync(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`build failed (${result.status}):\n${(result.stdout + result.stderr).slice(-4000)}`);
}

export interface McSimOptions {
  /** A folder of device simulators (simulators/ or a copy with a test hook): mcsim takes a folder argument as its simulators folder. */
  readonly simulators?: string;
  /**
   * mcsim's configuration folder (XDG_CONFIG_HOME): its preferences, window size, and the copy of the app it
   * loads, which would otherwise be shared by every mcsim of the user. Made with a window of `window` size.
   */
  readonly configHome?: string;
  readonly window?: { readonly width: number; readonly height: number };
  /** Xvfb keeps its screen in `<fbdir>/Xvfb_screen0` (XWD), for screenshots (support/screenshot.ts). */
  readonly fbdir?: string;
}

/** Writes mcsim's window geometry into `configHome` (GTK key file `tech.moddable.mcsim.ini`). */
export function prepareMcsimConfig(configHome: string, window: { readonly width: number; readonly height: number }): void {
  mkdirSync(configHome, { recursive: true });
  const ini = join(configHome, "tech.moddable.mcsim.ini");
  if (!existsSync(ini)) writeFileSync(ini, `[window]\nfullscreen=false\nmaximized=false\nx=0\ny=0\nwidth=${window.width}\nheight=${window.height}\n`);
}

/**
 * One run of the firmware in mcsim under Xvfb (a "power cycle" is stop + start). Its trace lines are collected;
 * `waitFor` resolves on the first line (from `from` on) that matches. Stopped by killing its process group.
 */
export class McSim {
  readonly lines: string[] = [];
  /** When each line arrived (Date.now()), index for index with `lines`. */
  readonly times: number[] = [];
  private child: ChildProcess | undefined;
  private partial = "";

  constructor(
    private readonly app: string,
    private readonly options: McSimOptions = {},
  ) {}

  start(): void {
    const { mcsim } = sdkPaths();
    const o = this.options;
    // xvfb-run's own screen unless a window size or a framebuffer file is asked for
    const screen = o.window ? `${o.window.width}x${o.window.height}x24` : "1280x1024x24";
    const server = o.window || o.fbdir ? ["-s", `-screen 0 ${screen}${o.fbdir ? ` -fbdir ${o.fbdir}` : ""}`] : [];
    if (o.configHome) prepareMcsimConfig(o.configHome, o.window ?? { width: 900, height: 560 });
    const env = o.configHome ? { ...process.env, XDG_CONFIG_HOME: o.configHome } : process.env;
    const args = [...(o.simulators ? [o.simulators] : []), this.app];
    this.child = spawn("xvfb-run", ["-a", ...server, "stdbuf", "-oL", mcsim, ...args], { stdio: ["ignore", "pipe", "pipe"], detached: true, env });
    const take = (data: Buffer): void => {
      const text = this.partial + data.toString();
      const parts = text.split("\n");
      this.partial = parts.pop() ?? "";
      const now = Date.now();
      for (const line of parts) {
        this.lines.push(line);
        this.times.push(now);
      }
    };
    this.child.stdout?.on("data", take);
    this.child.stderr?.on("data", take);
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The index of the first line from `from` on that matches, waiting up to `timeoutMs`. */
  async waitFor(pattern: RegExp, timeoutMs: number, from = 0): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (let checked = from; ; ) {
      for (; checked < this.lines.length; checked++) if (pattern.test(this.lines[checked]!)) return checked;
      if (!this.running) throw new Error(`mcsim exited before ${pattern}\n${this.tail()}`);
      if (Date.now() > deadline) throw new Error(`no ${pattern} within ${timeoutMs} ms\n${this.tail()}`);
      await sleep(50);
    }
  }

  /** Whether a line from `from` on matches (no waiting). */
  has(pattern: RegExp, from = 0): boolean {
    return this.lines.slice(from).some((l) => pattern.test(l));
  }

  tail(n = 40): string {
    return this.lines.slice(-n).join("\n");
  }

  /** Power off: the whole process group (xvfb-run, Xvfb, mcsim). */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.pid === undefined || !this.running) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {
      // already gone
    }
    await exited;
    await sleep(200); // Xvfb releases its display
  }
}
