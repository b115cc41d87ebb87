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
  return out.sort();
}

/** Every TypeScript source the device build preloads: src/ and the adapters in modules/ (main imports them). */
function preloadedSources(): string[] {
  const out = portableModules().map((m) => `src/${m}.ts`);
  for (const dir of readdirSync(join(ROOT, "modules"), { withFileTypes: true })) {
    if (!dir.isDirectory() || dir.name === "typings") continue;
    for (const file of readdirSync(join(ROOT, "modules", dir.name))) if (file.endsWith(".ts") && !file.endsWith(".d.ts")) out.push(`modules/${dir.name}/${file}`);
  }
  return out;
}

/**
 * The device build preloads the portable core (manifest.json "preload"): its classes and functions are built by the
 * XS linker into flash instead of into the ESP32's RAM at every start. mcconfig's "dir/*" preload patterns match
 * JavaScript sources only, so TypeScript modules are listed by name; this keeps the list equal to src/.
 */
describe("root manifest: the firmware is preloaded", () => {
  it("lists every src/ module (main, and with it the adapters it imports), and nothing else", () => {
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

  it("creates no RegExp at module level (preloaded into flash, XS's exec on it crashes)", () => {
    // The bench's instrumented mcsim run segfaulted in fx_RegExp_prototype_exec twice: replace() with a /g one
    // writes its lastIndex into flash, and test() on a preloaded one with capture groups read garbage match data.
    // On the ESP32 either is a crash. A pattern is made at run time instead (`let p; (p ??= /.../)`).
    const found: string[] = [];
    const sources = preloadedSources();
    assert.ok(sources.some((f) => f.startsWith("modules/")), "the adapters are scanned too");
    for (const file of sources) {
      const lines = readFileSync(join(ROOT, file), "utf8").split("\n");
      lines.forEach((line, i) => {
        if (/^\s/.test(line) || line.startsWith("//") || line.startsWith(" *")) return;
        const literal = /(=|\(|,)\s*\/(?![/*])(\\.|[^/\n])+\/[dgimsuvy]*\s*[;,)]?\s*$/.test(line) && !/\?\?=/.test(line);
        if (literal || (/new RegExp\(/.test(line) && !/\?\?=/.test(line))) found.push(`${file}:${i + 1}`);
      });
    }
    assert.deepEqual(found, []);
  });
});
