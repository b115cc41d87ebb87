/**
 * A portable mini BDD runner with mocha's globals (describe, it, before, after, beforeEach, afterEach, their
 * .skip, and .only, which is forbidden) for hosts without mocha, such as Moddable's XS engine. Plain ES2022: no
 * timers, no console; the host wires output through the `onEvent` callback of `runFiles`.
 *
 * Like mocha: suites and tests run sequentially in declaration order; `before`/`after` run once per suite (skipped
 * when the suite has nothing to run); `beforeEach` hooks run outermost first, `afterEach` innermost first; a failing
 * hook is reported as its own failure and ends its suite. A function may return a promise or take mocha's `done`
 * callback (not both), and gets mocha's `this` (`timeout()` and `slow()` are accepted and ignored, `skip()` skips).
 *
 * Nothing passes by accident: an exception, a rejection, `done(error)`, `done` called twice, a promise that is still
 * pending when the host's job queue is idle (it can never settle: no timers here; the host then calls `idle()`), an
 * uncaught error or unhandled rejection the host reports, an `async` describe callback and any `.only` are all
 * reported as failures, each with the title of the test it belongs to.
 */

export type Fn = (this: Context, done: Done) => unknown;
export type Done = (error?: unknown) => void;
type HookKind = "before all" | "after all" | "before each" | "after each";

/** mocha's `this` in describe callbacks, hooks and tests, as far as it makes sense without timers. */
export interface Context {
  /** Accepted for mocha compatibility; XS has no timers, the host bounds the run instead. Returns this. */
  timeout(ms?: number | string): Context;
  slow(ms?: number | string): Context;
  /** Skips the running test (or, from a hook, the tests it would run before) and ends the function. */
  skip(): never;
}

interface Suite {
  title: string;
  parent: Suite | undefined;
  file: string;
  skip: boolean;
  aborted: boolean;
  skipRest: boolean;
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

/**
 * What a result is about: a test (the only kind counted as a test, the same as mocha counts), or a failure of its own:
 * a hook, a file that failed to load, a `.only`, an error nobody caught, or the runner itself.
 */
export type ResultKind = "test" | "hook" | "load" | "only" | "stray" | "runner";

export interface TestResult {
  kind: ResultKind;
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
  skipRest: false,
  children: [],
  hooks: { "before all": [], "after all": [], "before each": [], "after each": [] },
});

let root = newSuite("", undefined, "", false);
let current = root;
let currentFile = "";
let running = false;
let results: TestResult[] = [];
let onlyUses: Array<{ title: string; file: string }> = [];
let emit: (event: RunnerEvent) => void = () => {};
let interrupt: ((reason: unknown) => void) | undefined;
const STALLED = Symbol("stalled");
const PENDING = Symbol("skipped with this.skip()");
let lastBegun: { title: string; file: string } | undefined;

const isSuite = (node: Suite | Test): node is Suite => "children" in node;

function chain(suite: Suite): Suite[] {
  const suites: Suite[] = [];
  for (let s: Suite | undefined = suite; s; s = s.parent) suites.unshift(s);
  return suites;
}

const fullTitle = (suite: Suite, title: string): string =>
  [...chain(suite).map((s) => s.title), title].filter((t) => t !== "").join(" ");

const context: Context = {
  timeout() {
    return context;
  },
  slow() {
    return context;
  },
  skip(): never {
    throw PENDING;
  },
};

const isThenable = (value: unknown): value is PromiseLike<unknown> =>
  value !== null && (typeof value === "object" || typeof value === "function") && typeof (value as { then?: unknown }).then === "function";

function register(what: string): void {
  if (running) throw new Error(`${what} cannot be declared while tests are running`);
}

function describe(title: string, body: unknown, skip = false): void {
  register("describe");
  if (typeof body !== "function") throw new TypeError(`describe("${title}") needs a callback`);
  const suite = newSuite(title, current, currentFile, skip || current.skip);
  current.children.push(suite);
  current = suite;
  try {
    const value: unknown = (body as (this: Context) => unknown).call(context);
    // Tests declared after an await would land in another suite or never run: mocha forbids it too.
    if (isThenable(value)) throw new Error(`describe("${fullTitle(suite, "").trim()}") returned a promise: describe callbacks must be synchronous`);
  } finally {
    current = suite.parent ?? root;
  }
}

function it(title: string, fn: unknown, skip = false): void {
  register("it");
  if (fn !== undefined && typeof fn !== "function") throw new TypeError(`it("${title}"): the test must be a function`);
  current.children.push({ title, parent: current, file: currentFile, fn: fn as Fn | undefined, skip: skip || current.skip });
}

function only(kind: "describe" | "it", title: string): void {
  onlyUses.push({ title: `${kind}.only ${fullTitle(current, title)}`, file: currentFile });
}

function hook(kind: HookKind) {
  return (titleOrFn: string | Fn, maybeFn?: Fn): void => {
    register(`a "${kind}" hook`);
    const fn = typeof titleOrFn === "function" ? titleOrFn : maybeFn;
    if (typeof fn !== "function") throw new TypeError(`${kind} hook needs a function`);
    current.hooks[kind].push(fn);
  };
}

/**
 * Installs describe, it, before, after, beforeEach, afterEach (with .skip and .only) on `target`. `.only` declares
 * its suite or test as usual and is reported as a failure: an `.only` left in a file must not hide the other tests.
 */
export function install(target: object = globalThis): void {
  Object.assign(target, {
    describe: Object.assign((title: string, body: unknown) => describe(title, body), {
      skip: (title: string, body: unknown) => describe(title, body, true),
      only: (title: string, body: unknown) => {
        only("describe", title);
        describe(title, body);
      },
    }),
    it: Object.assign((title: string, fn?: unknown) => it(title, fn), {
      skip: (title: string, fn?: unknown) => it(title, fn, true),
      only: (title: string, fn?: unknown) => {
        only("it", title);
        it(title, fn);
      },
    }),
    before: hook("before all"),
    after: hook("after all"),
    beforeEach: hook("before each"),
    afterEach: hook("after each"),
  });
}

/**
 * For the host, once its job queue has drained while the run is unfinished: fails the function that is being
 * awaited ("timed out: did not settle"), or ends the wait between two tests, so the run moves on. Returns false if
 * nothing was waiting.
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
  const title = lastBegun ? `${what} (during or after "${lastBegun.title}")` : what;
  report({ kind: "stray", title, file: lastBegun?.file ?? "", state: "failed", error: describeError(error) });
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

type Outcome = { error: ErrorInfo } | { skipped: true } | undefined;

/**
 * Calls `fn` (with mocha's `done` when it declares a parameter) and awaits what it returns. Resolves to the failure
 * or the skip, if any. Never rejects.
 */
async function attempt(fn: Fn): Promise<Outcome> {
  const stalled = new Promise<never>((_, reject) => {
    interrupt = reject;
  });
  stalled.catch(() => undefined); // raced below only when there is something to wait for
  try {
    if (fn.length > 0) {
      let finish: (error: unknown) => void = () => undefined;
      let calls = 0;
      const finished = new Promise<void>((resolve, reject) => {
        finish = (error) => (error === undefined || error === null ? resolve() : reject(error));
      });
      const done: Done = (error) => {
        calls++;
        if (calls === 2) reportStray("done() called more than once", new Error("done() called more than once"));
        else if (calls === 1) finish(error);
      };
      const value = fn.call(context, done);
      if (isThenable(value)) throw new Error("the function takes done() and returns a promise: use one of them");
      await Promise.race([finished, stalled]);
    } else {
      const value = fn.call(context, () => undefined);
      if (isThenable(value)) await Promise.race([value, stalled]);
    }
    return undefined;
  } catch (error) {
    if (error === PENDING) return { skipped: true };
    if (error === STALLED) return { error: { message: "timed out: did not settle (its promise or done() was still pending when every job had run, and nothing else can run in XS)" } };
    return { error: describeError(error) };
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
    else report({ kind: "test", title: fullTitle(suite, child.title), file: child.file, state: "skipped" });
  }
}

const isAborted = (suite: Suite): boolean => chain(suite).some((s) => s.aborted);

/**
 * Runs the hooks of one kind of `suite`. A failure is reported and aborts the suite; `this.skip()` in a "before"
 * hook skips what the hook was run for. Returns true when the tests may go on.
 */
async function runHooks(suite: Suite, kind: HookKind, test?: Test): Promise<boolean> {
  for (const fn of suite.hooks[kind]) {
    const outcome = await attempt(fn);
    if (outcome && "skipped" in outcome) {
      if (kind === "before all") suite.skipRest = true;
      return false;
    }
    if (outcome) {
      const title = `${fullTitle(suite, `"${kind}" hook`)}${test ? ` for "${test.title}"` : ""}`;
      report({ kind: "hook", title, file: test?.file ?? suite.file, state: "failed", error: outcome.error });
      suite.aborted = true;
      return false;
    }
  }
  return true;
}

async function runTest(test: Test): Promise<void> {
  const title = fullTitle(test.parent, test.title);
  if (test.skip || !test.fn) return report({ kind: "test", title, file: test.file, state: "skipped" });
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
      if (!suite.aborted) report({ kind: "test", title, file: test.file, state: "skipped" }); // this.skip() in the hook
      break;
    }
  }
  if (ready) {
    const outcome = await attempt(test.fn);
    if (outcome === undefined) report({ kind: "test", title, file: test.file, state: "passed" });
    else if ("skipped" in outcome) report({ kind: "test", title, file: test.file, state: "skipped" });
    else report({ kind: "test", title, file: test.file, state: "failed", error: outcome.error });
  }
  for (const suite of suites.slice(0, entered).reverse()) {
    if (!(await runHooks(suite, "after each", test))) break;
  }
  await settle(title, test.file);
}

/**
 * Lets the host drain the job queue once before the next test begins (its next `idle()` ends the wait), so what a
 * test leaves behind is reported under its name: an unhandled rejection (XS reports those when the queue drains) or
 * an error thrown by a setImmediate callback it scheduled.
 */
async function settle(title: string, file: string): Promise<void> {
  try {
    await new Promise<never>((_, reject) => {
      interrupt = reject;
    });
  } catch (error) {
    if (error !== STALLED) report({ kind: "stray", title: `uncaught error (after "${title}" ended)`, file, state: "failed", error: describeError(error) });
  } finally {
    interrupt = undefined;
  }
}

async function runSuite(suite: Suite): Promise<void> {
  if (!hasRunnable(suite)) return reportSkipped(suite);
  if (await runHooks(suite, "before all")) {
    for (const child of suite.children) {
      if (isAborted(suite)) break;
      await (isSuite(child) ? runSuite(child) : runTest(child));
    }
  } else if (suite.skipRest) reportSkipped(suite);
  await runHooks(suite, "after all");
}

/**
 * Loads the test files in order (each `load` evaluates one file, registering its suites), then runs everything.
 * Resolves to all results; never rejects. A file that throws while loading is reported as a failure titled
 * `load <file>`, and every `.only` as a failure titled `.only is forbidden: …` (the tests still all run).
 */
export async function runFiles(
  files: ReadonlyArray<{ file: string; load: () => unknown }>,
  onEvent?: (event: RunnerEvent) => void,
): Promise<TestResult[]> {
  results = [];
  onlyUses = [];
  root = newSuite("", undefined, "", false);
  lastBegun = undefined;
  emit = onEvent ?? (() => {});
  for (const { file, load } of files) {
    currentFile = file;
    current = root;
    const outcome = await attempt(load);
    if (outcome) {
      const error = "error" in outcome ? outcome.error : { message: "this.skip() while loading" };
      report({ kind: "load", title: `load ${file}`, file, state: "failed", error });
    }
  }
  current = root;
  for (const { title, file } of onlyUses) {
    report({ kind: "only", title: `.only is forbidden: ${title}`, file, state: "failed", error: { message: "remove .only: it would hide every other test (mocha's forbidOnly)" } });
  }
  running = true;
  try {
    await runSuite(root);
  } catch (error) {
    report({ kind: "runner", title: "runner", file: "", state: "failed", error: describeError(error) });
  } finally {
    running = false;
  }
  return results;
}
