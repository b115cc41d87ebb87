import assert from "../support/assert";
import { SETUP_PASSWORD_ALPHABET, generateSetupPassword, isSetupPassword, setupSsid } from "../../src/setup/setup-password";
import { validatePassphrase } from "../../src/wifi/wifi-credentials";
import { SeededRandom, SequenceRandom } from "../support/manual-clock";

describe("setup password", () => {
  it("is 4 groups of 4 characters without look-alikes, a valid WPA2 passphrase", () => {
    const random = new SeededRandom(7);
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const pw = generateSetupPassword(random);
      assert.match(pw, /^[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}$/);
      assert.ok(!/[01ilo]/.test(pw), pw);
      validatePassphrase(pw);
      assert.ok(isSetupPassword(pw));
      seen.add(pw);
    }
    assert.equal(seen.size, 200, "no repeats");
  });

  it("uses the whole alphabet, edge values included", () => {
    assert.equal(generateSetupPassword(new SequenceRandom([0])), "aaaa-aaaa-aaaa-aaaa");
    assert.equal(generateSetupPassword(new SequenceRandom([0.999999])), "9999-9999-9999-9999");
    assert.equal(SETUP_PASSWORD_ALPHABET.length, 31);
    assert.throws(() => generateSetupPassword(new SequenceRandom([1])), RangeError);
  });

  it("accepts only the generated form", () => {
    for (const bad of ["", "password", "aaaa-aaaa-aaaa", "aaaa-aaaa-aaaa-aaa0", "AAAA-AAAA-AAAA-AAAA", "aaaa-aaaa-aaaa-aaaa-"]) assert.ok(!isSetupPassword(bad), bad);
  });

  it("names the access point after the last 4 characters of the device id", () => {
    assert.equal(setupSsid("kisbox-sim-1"), "KISME-SIM1");
    assert.equal(setupSsid("box-0042"), "KISME-0042");
    assert.equal(setupSsid("a"), "KISME-000A");
  });
});
