import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { sleep, waitFor } from "./processes";

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
export async function withStartCli(cwd: string, args: string[], body: (cli: StartCli) => Promise<void>, options: { readonly quit?: "q" | "SIGTERM" } = {}): Promise<string> {
  const child = spawn(process.execPath, [join(__dirname, "../../../host/cli/start.js"), ...args], { cwd, stdio: ["pipe", "pipe", "pipe"] });
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
