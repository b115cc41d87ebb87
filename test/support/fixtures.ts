/**
 * Test fixtures made on the Node side at test time (test/fixtures/), readable from tests in both lanes: the
 * runner installs `globalThis.__testFixture` (Node: scripts/test.mjs; XS: scripts/run-xs.mjs over issueCommand).
 */
type FixtureSource = (name: string) => string;

export function loadFixture<T>(name: string): T {
  const source = (globalThis as { __testFixture?: FixtureSource }).__testFixture;
  if (typeof source !== "function") throw new Error(`test fixture "${name}": no fixture source (run the tests through npm test or npm run test:xs)`);
  return JSON.parse(source(name)) as T;
}

export function fromHex(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}
