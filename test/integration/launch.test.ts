import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync, statSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { tempDir } from "./support/processes";

const ROOT = join(__dirname, "../../..");
type BuildStamp = typeof import("../../scripts/lib/build-stamp.mjs");

/**
 * A repository in miniature: the launcher and its stamp library as they are in scripts/, the real node_modules
 * (TypeScript, esbuild), a tsconfig.json compiling src/ and host/ to build/, and a program host/cli/start.ts that
 * prints its version from src/version.ts (with --help, a usage line), and on SIGTERM says so and exits 3.
 */
function miniRepo(): string {
  const root = tempDir("launch");
  mkdirSync(join(root, "scripts", "lib"), { recursive: true });
  for (const file of ["scripts/launch.mjs", "scripts/lib/build-stamp.mjs"]) cpSync(join(ROOT, file), join(root, file));
  symlinkSync(join(ROOT, "node_modules"), join(root, "node_modules"));
  writeFileSync(
    join(root, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: { strict: true, target: "es2022", lib: ["es2022"], types: ["node"], module: "nodenext", moduleResolution: "nodenext", outDir: "build", rootDir: "." },
      include: ["src/**/*.ts", "host/**/*.ts"],
    }),
  );
  mkdirSync(join(root, "src"));
  mkdirSync(join(root, "host", "cli"), { recursive: true });
  writeFileSync(join(root, "src", "version.ts"), `export const VERSION: string = "v1";\n`);
  writeFileSync(
    join(root, "host", "cli", "start.ts"),
    [
      `import { VERSION } from "../../src/version";`,
      `const args = process.argv.slice(2);`,
      `if (args.includes("--help")) console.log(\`usage \${VERSION}\`);`,
      `else if (args.includes("--wait")) {`,
      `  process.on("SIGTERM", () => { console.log("got SIGTERM"); process.exit(3); });`,
      `  console.log("waiting");`,
      `  setInterval(() => undefined, 1000);`,
      `} else console.log(\`running \${VERSION} \${args.join(" ")}\`);`,
      ``,
    ].join("\n"),
  );
  return root;
}

function launch(root: string, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(root, "scripts/launch.mjs"), "host/cli/start", ...args], { cwd: root, encoding: "utf8" });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const COMPILING = /launch: compiling with tsc/;

describe("scripts/launch.mjs: npm start and the tools compile only when the sources changed; --help never does", function () {
  this.timeout(120_000);
  let lib: BuildStamp;

  before(async () => {
    lib = (await import(pathToFileURL(join(ROOT, "scripts/lib/build-stamp.mjs")).href)) as BuildStamp;
  });

  it("the staleness decision: by content (not file times), over the sources, the tsconfig and the lock", () => {
    const root = miniRepo();
    const fingerprint = lib.sourceFingerprint(root);
    assert.deepEqual(lib.sourceFiles(root), ["host/cli/start.ts", "src/version.ts", "tsconfig.json"]);
    assert.match(lib.staleReason(root, "build/host/cli/start.js") ?? "", /build\/host\/cli\/start\.js does not exist/);
    mkdirSync(join(root, "build", "host", "cli"), { recursive: true });
    writeFileSync(join(root, "build", "host", "cli", "start.js"), "");
    assert.match(lib.staleReason(root, "build/host/cli/start.js") ?? "", /no build\/\.sources\.sha256/, "a build nobody recorded");
    lib.writeStamp(root, fingerprint);
    assert.equal(lib.staleReason(root, "build/host/cli/start.js"), undefined);
    const file = join(root, "src", "version.ts");
    utimesSync(file, new Date(), new Date(Date.now() + 60_000)); // touched, same content
    assert.equal(lib.staleReason(root, "build/host/cli/start.js"), undefined, "a newer file time alone is no change");
    writeFileSync(file, `export const VERSION: string = "v2";\n`);
    assert.equal(lib.staleReason(root, "build/host/cli/start.js"), "the sources changed since the last build");
    writeFileSync(file, `export const VERSION: string = "v1";\n`);
    assert.equal(lib.staleReason(root, "build/host/cli/start.js"), undefined, "back to the recorded content");
    writeFileSync(join(root, "src", "extra.ts"), "export {};\n");
    assert.ok(lib.staleReason(root, "build/host/cli/start.js"), "a new source file");
    writeFileSync(join(root, "package-lock.json"), "{}\n");
    assert.notEqual(lib.sourceFingerprint(root), fingerprint);
  });

  it("compiles once, then runs the build directly; --help on a missing or stale build bundles that program without tsc", () => {
    const root = miniRepo();
    const program = join(root, "build", "host", "cli", "start.js");

    const firstHelp = launch(root, "--help");
    assert.equal(firstHelp.status, 0, firstHelp.stderr);
    assert.equal(firstHelp.stdout, "usage v1\n");
    assert.doesNotMatch(firstHelp.stderr, COMPILING);
    assert.ok(!existsSync(program), "tsc did not run");

    const first = launch(root, "a", "b");
    assert.equal(first.status, 0, first.stderr);
    assert.match(first.stderr, /launch: compiling with tsc \(build\/host\/cli\/start\.js does not exist\)/);
    assert.equal(first.stdout, "running v1 a b\n");
    const built = statSync(program).mtimeMs;
    const stamp = readFileSync(join(root, "build", ".sources.sha256"), "utf8");

    for (const args of [["--help"], ["c"], ["-h"]]) {
      const again = launch(root, ...args);
      assert.equal(again.status, 0, again.stderr);
      assert.doesNotMatch(again.stderr, COMPILING, args.join(" "));
    }
    assert.equal(statSync(program).mtimeMs, built, "the build was not rewritten");
    assert.equal(readFileSync(join(root, "build", ".sources.sha256"), "utf8"), stamp);

    writeFileSync(join(root, "src", "version.ts"), `export const VERSION: string = "v2";\n`);
    const staleHelp = launch(root, "--help");
    assert.equal(staleHelp.stdout, "usage v2\n", "the help of the sources as they are now");
    assert.doesNotMatch(staleHelp.stderr, COMPILING);
    assert.equal(statSync(program).mtimeMs, built, "--help did not compile");
    const rebuilt = launch(root);
    assert.match(rebuilt.stderr, /launch: compiling with tsc \(the sources changed since the last build\)/);
    assert.equal(rebuilt.stdout, "running v2 \n");
    assert.doesNotMatch(launch(root).stderr, COMPILING);
  });

  it("a type error stops the start with tsc's status and leaves the build unrecorded", () => {
    const root = miniRepo();
    assert.equal(launch(root).status, 0);
    writeFileSync(join(root, "src", "version.ts"), `export const VERSION: string = 2;\n`);
    const broken = launch(root);
    assert.notEqual(broken.status, 0);
    assert.match(broken.stdout + broken.stderr, /error TS2322/);
    assert.doesNotMatch(broken.stdout, /running/);
    assert.match(launch(root).stderr, COMPILING, "still stale: compiles again next time");
  });

  it("passes SIGTERM to the program and exits with its status", async () => {
    const root = miniRepo();
    assert.equal(launch(root).status, 0); // compiled
    const child = spawn(process.execPath, [join(root, "scripts/launch.mjs"), "host/cli/start", "--wait"], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the program did not start: ${out}`)), 20_000);
      child.stdout.on("data", () => {
        if (out.includes("waiting")) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    child.kill("SIGTERM"); // the launcher only: the program hears of it through the launcher
    const code = await new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)));
    assert.equal(code, 3);
    assert.match(out, /got SIGTERM/);
  });

  it("the repository's npm scripts start, provision, models and build go through the launcher, to programs that exist", () => {
    const scripts = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;
    assert.equal(scripts["build"], "node scripts/launch.mjs --build");
    for (const [name, program] of [["start", "host/cli/start"], ["provision", "host/tools/provision"], ["models", "host/tools/dtdl"]] as const) {
      assert.equal(scripts[name], `node scripts/launch.mjs ${program}`, name);
      assert.ok(existsSync(join(ROOT, `${program}.ts`)), program);
    }
  });
});
