/**
 * The `preference` module in the simulator (lin/mac/win), in place of the SDK's lin one: the same API and the same
 * file (`modpreferences.json` in `config.file.root`, domain → key → value; an ArrayBuffer as `{buffer: "1,2,3"}`),
 * so existing simulator state reads the same.
 *
 * Why not the SDK's: it reads the file in a static initializer, i.e. when the module is loaded. The firmware
 * preloads main and with it every module it imports, so that read would run on the build machine (where native
 * calls fail and it silently yields `{}`) and no preference would survive a restart. This one reads on first use.
 * It also replaces the file by rename, so a simulator killed while writing keeps the old contents.
 * On esp32 the SDK's NVS module is used (preloadable: it keeps nothing at module level).
 */
import * as fileModule from "file";
import config from "mc/config";

interface FileHandle {
  read(type: typeof String): string;
  write(value: string): void;
  close(): void;
}
interface FileClass {
  new (path: string, write?: boolean): FileHandle;
  exists(path: string): boolean;
  delete(path: string): boolean;
  rename(from: string, to: string): boolean;
}
const File = fileModule.File as FileClass;

type Value = string | boolean | number | ArrayBuffer;
type Stored = string | boolean | number | { buffer: string };
type Domains = Record<string, Record<string, Stored>>;

// The cache, made on first use (a module-level object would be preloaded read-only).
let cache: Domains | undefined;

function path(): string {
  const root = (config as { file?: { root?: string } }).file?.root ?? "/tmp/";
  return `${root}modpreferences.json`;
}

function load(): Domains {
  if (cache) return cache;
  let read: Domains = {};
  try {
    if (File.exists(path())) {
      const file = new File(path(), false);
      try {
        const parsed: unknown = JSON.parse(file.read(String));
        if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) read = parsed as Domains;
      } finally {
        file.close();
      }
    }
  } catch {
    // unreadable or not JSON: start empty, as the SDK's module does
  }
  cache = read;
  return read;
}

function save(domains: Domains): void {
  const target = path();
  const temp = `${target}.new`;
  File.delete(temp);
  const file = new File(temp, true);
  try {
    file.write(JSON.stringify(domains));
  } finally {
    file.close();
  }
  if (!File.rename(temp, target)) throw new Error(`cannot replace ${target}`);
}

const Preference = Object.freeze({
  set(domain: string, key: string, value: Value): void {
    const domains = load();
    const stored: Stored = value instanceof ArrayBuffer ? { buffer: new Uint8Array(value).toString() } : value;
    (domains[domain] ??= {})[key] = stored;
    save(domains);
  },

  get(domain: string, key: string): Value | undefined {
    const stored = load()[domain]?.[key];
    if (stored !== null && typeof stored === "object") return Uint8Array.from(stored.buffer === "" ? [] : stored.buffer.split(",").map(Number)).buffer;
    return stored;
  },

  delete(domain: string, key: string): void {
    const domains = load();
    const entries = domains[domain];
    if (!entries || entries[key] === undefined) return;
    delete entries[key];
    if (Object.keys(entries).length === 0) delete domains[domain];
    save(domains);
  },

  keys(domain: string): string[] {
    const entries = load()[domain];
    return entries ? Object.keys(entries) : [];
  },
});

export default Preference;
