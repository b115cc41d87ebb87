import assert from "../support/assert";

// A sanity test of the BDD contract shared by mocha (Node) and test/xs/bdd-runner.ts (XS): hook order, nesting,
// skipping, async functions and done callbacks. That the XS runner reports failures is checked by its self-test
// (scripts/xs-self-test.mjs on test/xs/fixtures), which npm test runs.

const log: string[] = [];
const nextTurn = (): Promise<void> =>
  new Promise((resolve) => {
    const { setImmediate } = globalThis as { setImmediate?: (callback: () => void) => unknown };
    if (setImmediate) setImmediate(resolve);
    else void Promise.resolve().then(resolve);
  });

describe("bdd runner", () => {
  before(() => {
    log.push("before");
  });
  after(() => {
    log.push("after");
  });
  beforeEach(() => {
    log.push("beforeEach");
  });
  afterEach(() => {
    log.push("afterEach");
  });

  it("runs a sync test", () => {
    log.push("sync");
  });

  it("awaits an async test", async () => {
    await Promise.resolve();
    await nextTurn();
    log.push("async");
  });

  it("calls back through done", (done) => {
    nextTurn().then(() => {
      log.push("done");
      done();
    }, done);
  });

  it("skips itself with this.skip()", function () {
    log.push("skipping");
    this.skip();
    log.push("this.skip() returned");
  });

  it.skip("skips it.skip", () => {
    log.push("skipped test ran");
  });

  describe("nested", () => {
    beforeEach(async () => {
      await nextTurn();
      log.push("inner beforeEach");
    });
    afterEach(() => {
      log.push("inner afterEach");
    });

    it("runs outer hooks around inner ones", () => {
      log.push("inner");
    });
  });

  describe.skip("a skipped suite", () => {
    before(() => {
      log.push("skipped before ran");
    });
    it("is not run", () => {
      log.push("skipped suite ran");
    });
  });
});

describe("bdd runner order", () => {
  it("ran hooks and tests in declaration order", () => {
    assert.deepEqual(log, [
      "before",
      "beforeEach", "sync", "afterEach",
      "beforeEach", "async", "afterEach",
      "beforeEach", "done", "afterEach",
      "beforeEach", "skipping", "afterEach",
      "beforeEach", "inner beforeEach", "inner", "inner afterEach", "afterEach",
      "after",
    ]);
  });
});
