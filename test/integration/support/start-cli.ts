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
 * Runs `npm start` (build/host/cli/start.js) in `cwd` with `args`, lets `body` drive it, then quits with `q` and
 * expects exit code 0. The output is printed when anything fails; the process is killed in any case.
 */
export async function withStartCli(cwd: string, args: string[], body: (cli: StartCli) => Promise<void>): Promise<void> {
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
    cli.send("q");
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    assert.equal(code, 0);
  } catch (error) {
    process.stdout.write(`--- npm start output ---\n${out}\n`);
    throw error;
  } finally {
    if (child.exitCode === null) child.kill("SIGKILL");
    await sleep(10);
  }
}
