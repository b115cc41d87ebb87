import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "./support/processes";
import { withStartCli } from "./support/start-cli";

/**
 * `npm start` shows an over-the-air update: key `u` publishes a signed release of the running version's next
 * patch in the local blob store and sets the desired `firmware`; the device downloads, verifies and applies it,
 * restarts (a new host device from the same state folder), reaches the hub on the new image and confirms it.
 */
describe("npm start: an over-the-air update with the u key", function () {
  this.timeout(20_000);

  it("restarts into the next patch version and confirms it", async () => {
    const cwd = tempDir("start-ota");
    await withStartCli(cwd, [], async (cli) => {
      await cli.until(/boot: online/, "the simulated box to reach the hub", 10_000);
      assert.match(cli.out, /firmware 0\.1\.0, hub/);
      cli.send("u");
      await cli.until(/restart: booting firmware 0\.1\.1/, "the restart into 0.1.1", 8_000);
      await cli.until(/firmware succeeded \(running 0\.1\.1, target 0\.1\.1\)/, "the new image confirmed", 8_000);
      const states = [...cli.out.matchAll(/firmware (\w+) \(running ([\d.]+), target ([\d.]+)\)/g)].map((m) => `${m[1]} ${m[2]}→${m[3]}`);
      assert.deepEqual(states, [
        "downloading 0.1.0→0.1.1",
        "verifying 0.1.0→0.1.1",
        "applying 0.1.0→0.1.1",
        "rebooting 0.1.0→0.1.1",
        "applying 0.1.1→0.1.1",
        "succeeded 0.1.1→0.1.1",
      ]);
      assert.ok(cli.out.indexOf("restart: booting firmware 0.1.1") < cli.out.lastIndexOf("boot: online"), "online again after the restart");
      // Device_started says why each boot began: the power-on, then the restart into the update.
      await cli.until(/Device_started":\{"firmware":"0\.1\.1"/, "the new image's Device_started at the hub", 8_000);
      const started = [...cli.out.matchAll(/\{"Device_started":\{"firmware":"([\d.]+)","profile":"box","resetReason":"([\w-]+)"/g)].map((m) => `${m[1]} ${m[2]}`);
      assert.deepEqual(started, ["0.1.0 power-on", "0.1.1 update"]);
      // Marked valid in the A/B boot record: the next start runs 0.1.1 without a pending trial.
      const record = JSON.parse(readFileSync(join(cwd, ".dev/kisbox-sim-1/firmware/boot.json"), "utf8")) as { pending: unknown; boot: string; slots: Record<string, { version: string }> };
      assert.equal(record.pending, null);
      assert.equal(record.slots[record.boot]!.version, "0.1.1");
    });
  });
});
