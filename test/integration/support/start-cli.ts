import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { join } from "node:path";
import { sleep, waitFor } from "./processes";

/** build/host/cli/start.js: what `npm start` runs. */
export const START_JS = join(__dirname, "../../../host/cli/start.js");

/** Runs `npm start -- args` to its end (for runs that stop by themselves): exit code and everything printed. */
export function runStartCli(cwd: string, args: string[]): { readonly status: number | null; readonly stdout: string; readonly stderr: string } {
  const result = spawnSync(process.execPath, [START_JS, ...args], { cwd, encoding: "utf8", timeout: 30_000, input: "" });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

export interface StartCli {
  /** Everything printed so far (stdout and stderr). */
  readonly out: string;
  /** Sends a key line, as a user on a pipe would. */
  send(line: string): void;
  until(pattern: RegExp, what: string, timeoutMs?: number): Promise<void>;
}

/**
 * Runs `npm start` (build/host/cli/start.js) in `cwd` with `args`, lets `body` drive it, then quits — with `q`, or
 * with SIGTERM as a service manager would stop it — and expects exit code 0. The output is printed when anything
 * fails; the process is killed in any case. Resolves with everything it printed.
 */
export async function withStartCli(
  cwd: string,
  args: string[],
  body: (cli: StartCli) => Promise<void>,
  options: { readonly quit?: "q" | "SIGTERM"; readonly nodeArgs?: readonly string[]; readonly env?: NodeJS.ProcessEnv } = {},
): Promise<string> {
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), START_JS, ...args], { cwd, stdio: ["pipe", "pipe", "pipe"], ...(options.env ? { env: options.env } : {}) });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  const cli: StartCli = {
    get out() {
      return out;
    },
    send: (line) => void child.stdin.write(`${line}\n`),
    until: (pattern, what, timeoutMs) => waitFor(() => pattern.test(out), what, timeoutMs),
  };
  try {
    await body(cli);
    // "close": the process has exited and its output is read to the end.
    const exited = new Promise<number | null>((resolve) => child.once("close", resolve));
    if (options.quit === "SIGTERM") child.kill("SIGTERM");
    else cli.send("q");
    const code = await exited;
    assert.equal(code, 0);
    return out;
  } catch (error) {
    process.stdout.write(`--- npm start output ---\n${out}\n`);
    throw error;
  } finally {
    if (child.exitCode === null) child.kill("SIGKILL");
    await sleep(10);
  }
}
