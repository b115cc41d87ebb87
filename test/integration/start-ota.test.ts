import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { sleep, tempDir, waitFor } from "./support/processes";

/**
 * `npm start` shows an over-the-air update: key `u` publishes a signed release of the running version's next
 * patch in the local blob store and sets the desired `firmware`; the device downloads, verifies and applies it,
 * restarts (a new host device from the same state folder), reaches the hub on the new image and confirms it.
 */
describe("npm start: an over-the-air update with the u key", function () {
  this.timeout(20_000);

  it("restarts into the next patch version and confirms it", async () => {
    const cwd = tempDir("start-ota");
    const child = spawn(process.execPath, [join(__dirname, "../../host/cli/start.js")], { cwd, stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    try {
      await waitFor(() => /boot: online/.test(out), "the simulated box to reach the hub", 10_000);
      assert.match(out, /firmware 0\.1\.0, hub/);
      child.stdin.write("u\n");
      await waitFor(() => /restart: booting firmware 0\.1\.1/.test(out), "the restart into 0.1.1", 8_000);
      await waitFor(() => /firmware succeeded \(running 0\.1\.1, target 0\.1\.1\)/.test(out), "the new image confirmed", 8_000);
      const states = [...out.matchAll(/firmware (\w+) \(running ([\d.]+), target ([\d.]+)\)/g)].map((m) => `${m[1]} ${m[2]}→${m[3]}`);
      assert.deepEqual(states, [
        "downloading 0.1.0→0.1.1",
        "verifying 0.1.0→0.1.1",
        "applying 0.1.0→0.1.1",
        "rebooting 0.1.0→0.1.1",
        "applying 0.1.1→0.1.1",
        "succeeded 0.1.1→0.1.1",
      ]);
      assert.ok(out.indexOf("restart: booting firmware 0.1.1") < out.lastIndexOf("boot: online"), "online again after the restart");
      // Marked valid in the A/B boot record: the next start runs 0.1.1 without a pending trial.
      const record = JSON.parse(readFileSync(join(cwd, ".dev/device-box/firmware/boot.json"), "utf8")) as { pending: unknown; boot: string; slots: Record<string, { version: string }> };
      assert.equal(record.pending, null);
      assert.equal(record.slots[record.boot]!.version, "0.1.1");
      child.stdin.write("q\n");
      const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
      assert.equal(code, 0);
    } catch (error) {
      process.stdout.write(`--- npm start output ---\n${out}\n`);
      throw error;
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
      await sleep(10);
    }
  });
});
