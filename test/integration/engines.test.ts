import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const ROOT = join(__dirname, "../../..");

type Version = [number, number, number];

function parseVersion(text: string): Version {
  const m = /^v?(\d+)(?:\.(\d+|x))?(?:\.(\d+|x))?$/.exec(text.trim());
  if (!m) throw new Error(`not a version: ${JSON.stringify(text)}`);
  return [Number(m[1]), m[2] === undefined || m[2] === "x" ? 0 : Number(m[2]), m[3] === undefined || m[3] === "x" ? 0 : Number(m[3])];
}

function compare(a: Version, b: Version): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

/**
 * Whether `version` satisfies an npm `engines` range, for the forms the lock file uses: `*`, `>=X`, `>X`, `<X`,
 * `^X.Y.Z`, a bare `X`, `X.Y` or `X.x` (that major / minor), space-separated (all must hold) and `||`-separated
 * (one must). Anything else throws, so a new form in the lock cannot slip through unchecked.
 */
export function satisfies(version: Version, range: string): boolean {
  return range.split("||").some((alternative) =>
    alternative
      .trim()
      .replace(/([<>]=?)\s+/g, "$1")
      .split(/\s+/)
      .every((part) => {
        if (part === "*" || part === "") return true;
        const op = /^(>=|<=|>|<|\^|~)?(.*)$/.exec(part)!;
        const bound = parseVersion(op[2]!);
        const c = compare(version, bound);
        switch (op[1]) {
          case ">=":
            return c >= 0;
          case ">":
            return c > 0;
          case "<":
            return c < 0;
          case "<=":
            return c <= 0;
          case "^":
            return c >= 0 && (bound[0] > 0 ? version[0] === bound[0] : version[1] === bound[1]);
          case "~":
            return c >= 0 && version[0] === bound[0] && version[1] === bound[1];
          default: {
            const fields = op[2]!.split(".").filter((f) => f !== "x").length; // "20" or "20.x": that major
            return version[0] === bound[0] && (fields < 2 || version[1] === bound[1]) && (fields < 3 || version[2] === bound[2]);
          }
        }
      }),
  );
}

describe("npm ci on the supported Node versions: no EBADENGINE", () => {
  it("the range check reads the lock file's forms", () => {
    assert.equal(satisfies([20, 19, 0], ">=22"), false);
    assert.equal(satisfies([22, 1, 0], ">=22"), true);
    assert.equal(satisfies([20, 19, 0], "^20.9 || ^22.11"), true);
    assert.equal(satisfies([21, 0, 0], "^20.9 || ^22.11"), false);
    assert.equal(satisfies([20, 19, 0], "^20.19.0 || >=22.12.0"), true);
    assert.equal(satisfies([20, 18, 0], "^20.19.0 || >=22.12.0"), false);
    assert.equal(satisfies([20, 19, 0], "18 || 20 || >=22"), true);
    assert.equal(satisfies([21, 0, 0], "18 || 20 || >=22"), false);
    assert.equal(satisfies([20, 19, 0], ">=16 || 14 >=14.17"), true);
    assert.equal(satisfies([14, 16, 0], ">=16 || 14 >=14.17"), false);
    assert.equal(satisfies([20, 19, 0], ">= 10.x"), true);
    assert.throws(() => satisfies([20, 0, 0], ">=twenty"), /not a version/);
  });

  it("every package in package-lock.json accepts the lowest Node version package.json supports, and this one", () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { engines: { node: string } };
    const lowest = /^>=\s*(\d+(?:\.\d+){0,2})$/.exec(pkg.engines.node);
    assert.ok(lowest, `engines.node is a lower bound: ${pkg.engines.node}`);
    const lock = JSON.parse(readFileSync(join(ROOT, "package-lock.json"), "utf8")) as { packages: Record<string, { version?: string; engines?: { node?: string } | string[] }> };
    const refused: string[] = [];
    for (const [where, entry] of Object.entries(lock.packages)) {
      const range = Array.isArray(entry.engines) ? undefined : entry.engines?.node;
      if (!range || where === "") continue;
      for (const version of [parseVersion(lowest[1]!), parseVersion(process.versions.node)]) {
        if (!satisfies(version, range)) refused.push(`${where.replace(/^.*node_modules\//, "")}@${entry.version} needs node ${range}, not ${version.join(".")}`);
      }
    }
    assert.deepEqual(refused, []);
  });
});
