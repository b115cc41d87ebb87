// Whether build/ (the host build, tsc -p tsconfig.json) is current: a SHA-256 over the sources it is compiled from,
// written next to the output after a successful compile (build/.sources.sha256) and compared before a run, so
// `npm start`, `npm run provision` and `npm run models` compile only after a change. Content, not times: a
// checkout that changes nothing, or a touched file, does not recompile; an edit made while tsc ran does at the
// next start (the fingerprint is taken before the compile).
import { createHash } from "node:crypto";
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";

/** The folders of the .ts files tsconfig.json compiles or reads, and the files that change what it emits. */
export const SOURCE_DIRS = Object.freeze(["src", "host", "test", "scripts"]); // scripts: the .d.mts the tests type against
export const CONFIG_FILES = Object.freeze(["tsconfig.json", "tsconfig.base.json", "package.json", "package-lock.json"]);
export const STAMP = path.join("build", ".sources.sha256");

/** The source files, relative to `root` with "/" separators, sorted. */
export function sourceFiles(root) {
  const found = [];
  const walk = (dir) => {
    let entries;
    try {
      entries = readdirSync(path.join(root, dir), { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const rel = `${dir}/${entry.name}`;
      if (entry.isDirectory()) walk(rel);
      else if (/\.[cm]?ts$/.test(entry.name)) found.push(rel);
    }
  };
  for (const dir of SOURCE_DIRS) walk(dir);
  for (const file of CONFIG_FILES) if (existsSync(path.join(root, file))) found.push(file);
  return found.sort();
}

/** SHA-256 (hex) over every source file's name and content. */
export function sourceFingerprint(root) {
  const hash = createHash("sha256");
  for (const file of sourceFiles(root)) {
    const bytes = readFileSync(path.join(root, file));
    hash.update(`${file}\0${bytes.length}\0`).update(bytes);
  }
  return hash.digest("hex");
}

/**
 * Whether `entry` (a file under build/) can run as it is: undefined when the build is current, else why not
 * ("no build", "the sources changed since the last build", ...). `fingerprint` defaults to the sources' own.
 */
export function staleReason(root, entry, fingerprint = sourceFingerprint(root)) {
  if (!existsSync(path.join(root, entry))) return `${entry} does not exist`;
  let stamp;
  try {
    stamp = readFileSync(path.join(root, STAMP), "utf8").trim();
  } catch {
    return "the build was not made by this launcher or npm test (no build/.sources.sha256)";
  }
  return stamp === fingerprint ? undefined : "the sources changed since the last build";
}

/** Records that build/ was compiled from the sources whose fingerprint (taken before the compile) is given. */
export function writeStamp(root, fingerprint) {
  writeFileSync(path.join(root, STAMP), `${fingerprint}\n`);
}
