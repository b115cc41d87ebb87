import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { join, relative } from "node:path";

const ROOT = join(__dirname, "../../..");

/** Every module of the portable core, as the root manifest names them ("core/bytes" for src/core/bytes.ts). */
function portableModules(): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts")) out.push(relative(join(ROOT, "src"), path).replace(/\.ts$/, ""));
    }
  };
  walk(join(ROOT, "src"));
  return out.filter((m) => m !== "main").sort();
}

/**
 * The device build preloads the portable core (manifest.json "preload"): its classes and functions are built by the
 * XS linker into flash instead of into the ESP32's RAM at every start. mcconfig's "dir/*" preload patterns match
 * JavaScript sources only, so TypeScript modules are listed by name; this keeps the list equal to src/.
 */
describe("root manifest: the portable core is preloaded", () => {
  it("lists every src/ module except main, and nothing else", () => {
    const manifest = JSON.parse(readFileSync(join(ROOT, "manifest.json"), "utf8")) as { preload?: string[] };
    const listed = [...(manifest.preload ?? [])].sort();
    const modules = portableModules();
    assert.ok(modules.length > 50, "found the portable modules");
    assert.deepEqual(
      listed.filter((m) => !modules.includes(m)),
      [],
      "preloaded but not a portable module",
    );
    assert.deepEqual(
      modules.filter((m) => !listed.includes(m)),
      [],
      "portable modules missing from manifest.json preload",
    );
  });
});
