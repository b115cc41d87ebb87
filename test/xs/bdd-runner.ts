/**
 * A portable mini BDD runner with mocha's globals (describe, it, before, after, beforeEach, afterEach,
 * describe.skip, it.skip) for hosts without mocha, such as Moddable's XS engine. Plain ES2022: no
 * timers, no console; the host wires output through the `onEvent` callback of `runFiles`.
 *
 * Like mocha: suites and tests run sequentially in declaration order; `before`/`after` run once per
 * suite (skipped when the suite has nothing to run); `beforeEach` hooks run outermost first,
 * `afterEach` innermost first; a failing hook is reported as its own failure and ends its suite.
 * Functions may return a promise. A promise that is still pending when the host's job queue is idle
 * can never settle (no timers here): the host then calls `idle()`, which fails it as "did not settle".
 */

export type Fn = () => unknown;
type HookKind = "before all" | "after all" | "before each" | "after each";

interface Suite {
  title: string;
  parent: Suite | undefined;
  file: string;
  skip: boolean;
  aborted: boolean;
  children: Array<Suite | Test>;
  hooks: Record<HookKind, Fn[]>;
}

interface Test {
  title: string;
  parent: Suite;
  file: string;
  fn: Fn | undefined;
  skip: boolean;
}

export interface ErrorInfo {
  message: string;
  stack?: string;
}

export interface TestResult {
  title: string;
  file: string;
  state: "passed" | "failed" | "skipped";
  error?: ErrorInfo;
}

export type RunnerEvent = { type: "begin"; title: string; file: string } | ({ type: "result" } & TestResult);

const newSuite = (title: string, parent: Suite | undefined, file: string, skip: boolean): Suite => ({
  title,
  parent,
  file,
  skip,
  aborted: false,
  children: [],
  hooks: { "before all": [], "after all": [], "before each": [], "after each": [] },
});

const root = newSuite("", undefined, "", false);
let current = root;
let currentFile = "";
let running = false;
let results: TestResult[] = [];
let emit: (event: RunnerEvent) => void = () => {};
let interrupt: ((reason: unknown) => void) | undefined;
const STALLED = Symbol("stalled");
let lastBegun: { title: string; file: string } | undefined;

const isSuite = (node: Suite | Test): node is Suite => "children" in node;

function chain(suite: Suite): Suite[] {
  const suites: Suite[] = [];
  for (let s: Suite | undefined = suite; s; s = s.parent) suites.unshift(s);
  return suites;
}

const fullTitle = (suite: Suite, title: string): string =>
  [...chain(suite).map((s) => s.title), title].filter((t) => t !== "").join(" ");

function register(): void {
  if (running) throw new Error("describe/it/hooks cannot be declared while tests are running");
}

function describe(title: string, body: () => void, skip = false): void {
  register();
  const suite = newSuite(title, current, currentFile, skip || current.skip);
  current.children.push(suite);
  current = suite;
  try {
    body();
  } finally {
    current = suite.parent ?? root;
  }
}

function it(title: string, fn?: Fn, skip = false): void {
  register();
  current.children.push({ title, parent: current, file: currentFile, fn, skip: skip || current.skip });
}

function hook(kind: HookKind) {
  return (titleOrFn: string | Fn, maybeFn?: Fn): void => {
    register();
    const fn = typeof titleOrFn === "function" ? titleOrFn : maybeFn;
    if (typeof fn !== "function") throw new TypeError(`${kind} hook needs a function`);
    current.hooks[kind].push(fn);
  };
}

/** Installs describe, it, before, after, beforeEach, afterEach (and .skip) on `target`. */
export function install(target: object = globalThis): void {
  Object.assign(target, {
    describe: Object.assign((title: string, body: () => void) => describe(title, body), {
      skip: (title: string, body: () => void) => describe(title, body, true),
    }),
    it: Object.assign((title: string, fn?: Fn) => it(title, fn), {
      skip: (title: string, fn?: Fn) => it(title, fn, true),
    }),
    before: hook("before all"),
    after: hook("after all"),
    beforeEach: hook("before each"),
    afterEach: hook("after each"),
  });
}

/**
 * For the host, once its job queue has drained while the run is unfinished: fails the function
 * that is being awaited ("did not settle") so the run moves on. Returns false if nothing was pending.
 */
export function idle(): boolean {
  return fire(STALLED);
}

function fire(reason: unknown): boolean {
  const reject = interrupt;
  interrupt = undefined;
  reject?.(reason);
  return reject !== undefined;
}

/**
 * For the host: an exception nobody caught, such as one thrown by a setImmediate callback. It fails the
 * function being awaited, if any; otherwise it is reported as a failure of its own.
 */
export function uncaught(error: unknown): void {
  if (!fire(error)) reportStray("uncaught error", error);
}

/** For the host: a promise rejection that nobody handled. Reported as a failure of its own. */
export function unhandledRejection(reason: unknown): void {
  reportStray("unhandled rejection", reason);
}

function reportStray(what: string, error: unknown): void {
  const title = lastBegun ? `${what} (after "${lastBegun.title}" began)` : what;
  report({ title, file: lastBegun?.file ?? "", state: "failed", error: describeError(error) });
}

function describeError(error: unknown): ErrorInfo {
  if (error instanceof Error) {
    let message = `${error.name}: ${error.message}`;
    if (error.cause !== undefined) message += ` (cause: ${describeError(error.cause).message})`;
    return typeof error.stack === "string" && error.stack !== "" ? { message, stack: error.stack } : { message };
  }
  let text: string;
  try {
    text = typeof error === "string" ? error : (JSON.stringify(error) ?? String(error));
  } catch {
    text = Object.prototype.toString.call(error);
  }
  return { message: `thrown non-Error: ${text}` };
}

/** Calls `fn` and awaits what it returns; resolves to the failure, if any. Never rejects. */
async function attempt(fn: Fn): Promise<ErrorInfo | undefined> {
  try {
    const value = fn.call(undefined);
    if (value !== null && (typeof value === "object" || typeof value === "function") && "then" in value) {
      const stalled = new Promise<never>((_, reject) => {
        interrupt = reject;
      });
      await Promise.race([value, stalled]);
    }
    return undefined;
  } catch (error) {
    return error === STALLED ? { message: "did not settle: its promise was still pending when all jobs had run" } : describeError(error);
  } finally {
    interrupt = undefined;
  }
}

function report(result: TestResult): void {
  results.push(result);
  try {
    emit({ type: "result", ...result });
  } catch {
    // a failing reporter must not break the run
  }
}

const hasRunnable = (suite: Suite): boolean =>
  suite.children.some((child) => (isSuite(child) ? hasRunnable(child) : !child.skip && child.fn !== undefined));

function reportSkipped(suite: Suite): void {
  for (const child of suite.children) {
    if (isSuite(child)) reportSkipped(child);
    else report({ title: fullTitle(suite, child.title), file: child.file, state: "skipped" });
  }
}

const isAborted = (suite: Suite): boolean => chain(suite).some((s) => s.aborted);

/** Runs the hooks of one kind of `suite`; on a failure reports it, aborts the suite and returns false. */
async function runHooks(suite: Suite, kind: HookKind, test?: Test): Promise<boolean> {
  for (const fn of suite.hooks[kind]) {
    const error = await attempt(fn);
    if (error) {
      const title = `${fullTitle(suite, `"${kind}" hook`)}${test ? ` for "${test.title}"` : ""}`;
      report({ title, file: test?.file ?? suite.file, state: "failed", error });
      suite.aborted = true;
      return false;
    }
  }
  return true;
}

async function runTest(test: Test): Promise<void> {
  const title = fullTitle(test.parent, test.title);
  if (test.skip || !test.fn) return report({ title, file: test.file, state: "skipped" });
  lastBegun = { title, file: test.file };
  try {
    emit({ type: "begin", ...lastBegun });
  } catch {
    // ignore reporter failures
  }
  const suites = chain(test.parent);
  let entered = 0;
  let ready = true;
  for (const suite of suites) {
    entered++;
    if (!(await runHooks(suite, "before each", test))) {
      ready = false;
      break;
    }
  }
  if (ready) {
    const error = await attempt(test.fn);
    report(error ? { title, file: test.file, state: "failed", error } : { title, file: test.file, state: "passed" });
  }
  for (const suite of suites.slice(0, entered).reverse()) {
    if (!(await runHooks(suite, "after each", test))) break;
  }
}

async function runSuite(suite: Suite): Promise<void> {
  if (!hasRunnable(suite)) return reportSkipped(suite);
  if (await runHooks(suite, "before all")) {
    for (const child of suite.children) {
      if (isAborted(suite)) break;
      await (isSuite(child) ? runSuite(child) : runTest(child));
    }
  }
  await runHooks(suite, "after all");
}

/**
 * Loads the test files in order (each `load` evaluates one file, registering its suites), then runs
 * everything. Resolves to all results; never rejects. A file that throws while loading is reported
 * as a failure titled `load <file>`.
 */
export async function runFiles(
  files: ReadonlyArray<{ file: string; load: () => unknown }>,
  onEvent?: (event: RunnerEvent) => void,
): Promise<TestResult[]> {
  results = [];
  emit = onEvent ?? (() => {});
  for (const { file, load } of files) {
    currentFile = file;
    current = root;
    const error = await attempt(load);
    if (error) report({ title: `load ${file}`, file, state: "failed", error });
  }
  current = root;
  running = true;
  try {
    await runSuite(root);
  } catch (error) {
    report({ title: "runner", file: "", state: "failed", error: describeError(error) });
  } finally {
    running = false;
  }
  return results;
}
