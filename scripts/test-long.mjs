#!/usr/bin/env node
// `npm run test:long`: the long variants, each printing its figures —
//   the soak (1000 events, 20 broker restarts, link resets and stalls) and the outbox kill test with 100 SIGKILLs of
//   the device process: `events sent N / received M / duplicates D / lost L`, counted from what the hub recorded when
//   the run ended (also on a timeout), then `lost 0` asserted; every device runs the firmware's own MQTT client,
//   100 000 fuzz inputs per network parser: inputs / accepted / rejected / crashes.
import { execFileSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const run = (command, args, env = {}) => execFileSync(command, args, { cwd: root, stdio: "inherit", env: { ...process.env, ...env } });

try {
  run(process.execPath, [path.join(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.json"]);
  run(process.execPath, [path.join(root, "node_modules/mocha/bin/mocha.js"), "--forbid-only", "--timeout", "900000", "build/test/integration/soak.test.js", "build/test/integration/outbox-persistence.test.js"], {
    KISME_SOAK: "1",
    KISME_OUTBOX_KILLS: process.env.KISME_OUTBOX_KILLS ?? "100",
  });
  run(process.execPath, [path.join(root, "scripts/fuzz-long.mjs"), "--no-build"]);
} catch {
  process.exit(1);
}
