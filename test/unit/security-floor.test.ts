import assert from "../support/assert";
import { SECURITY_FLOOR_KEY, SECURITY_KEYS, SECURITY_PENDING_KEY, SecurityFloor } from "../../src/update/security-floor";
import { MAX_KEY_LENGTH, MemoryStore, type KeyValueStore } from "../../src/ports/storage";
import { MAX_SECURITY_VERSION } from "../../src/update/update-manifest";

describe("SecurityFloor (the update security-version floor in NVS)", () => {
  it("uses NVS-sized keys in the device's own domain", () => {
    for (const key of SECURITY_KEYS) assert.ok(key.length <= MAX_KEY_LENGTH, key);
    assert.deepEqual([...SECURITY_KEYS], [SECURITY_FLOOR_KEY, SECURITY_PENDING_KEY]);
  });

  it("starts at 0, only rises, and is the same after a restart (a new instance over the same store)", () => {
    const store = new MemoryStore();
    const floor = new SecurityFloor(store);
    assert.equal(floor.floor(), 0);
    assert.equal(store.get(SECURITY_FLOOR_KEY), undefined, "nothing written for floor 0");
    assert.equal(floor.raise(3), 3);
    assert.equal(store.get(SECURITY_FLOOR_KEY), "3");
    assert.equal(floor.raise(2), 3, "never lowered");
    assert.equal(floor.raise(0), 3);
    assert.equal(store.get(SECURITY_FLOOR_KEY), "3");
    assert.equal(new SecurityFloor(store).floor(), 3);
    assert.equal(new SecurityFloor(store).raise(MAX_SECURITY_VERSION), MAX_SECURITY_VERSION);
    assert.equal(new SecurityFloor(store).floor(), MAX_SECURITY_VERSION);
    assert.throws(() => floor.raise(-1), RangeError);
    assert.throws(() => floor.raise(1.5), RangeError);
  });

  it("raises to the pending image's security version only when that image is the one confirmed", () => {
    const store = new MemoryStore();
    const floor = new SecurityFloor(store);
    floor.setPending({ version: "1.4.0", securityVersion: 6 });
    assert.deepEqual(new SecurityFloor(store).pending(), { version: "1.4.0", securityVersion: 6 });
    // Another version runs (the update was rolled back): the record goes, the floor stays.
    assert.equal(floor.confirm("1.3.0"), 0);
    assert.equal(store.get(SECURITY_PENDING_KEY), undefined);
    floor.setPending({ version: "1.4.0", securityVersion: 6 });
    assert.equal(floor.confirm("1.4.0"), 6);
    assert.equal(store.get(SECURITY_PENDING_KEY), undefined);
    assert.equal(floor.confirm("1.4.0"), 6, "nothing pending: unchanged");
    // A pending image with a lower security version than the floor leaves it where it is.
    floor.setPending({ version: "1.5.0", securityVersion: 2 });
    assert.equal(floor.confirm("1.5.0"), 6);
    assert.throws(() => floor.setPending({ version: "1.5", securityVersion: 2 }), RangeError);
  });

  it("fails closed on an unusable floor record: undefined, never overwritten, reported", () => {
    for (const raw of ["", "x", "-1", "01", "1.5", "2147483648", " 3", "99999999999"]) {
      const store = new MemoryStore();
      store.set(SECURITY_FLOOR_KEY, raw);
      const problems: string[] = [];
      const floor = new SecurityFloor(store, (m) => problems.push(m));
      assert.equal(floor.floor(), undefined, JSON.stringify(raw));
      assert.equal(floor.raise(5), undefined);
      floor.setPending({ version: "2.0.0", securityVersion: 5 });
      assert.equal(floor.confirm("2.0.0"), undefined);
      assert.equal(store.get(SECURITY_FLOOR_KEY), raw, "left as it is");
      assert.ok(problems.some((p) => /security floor record .* is malformed/.test(p)), problems.join("; "));
    }
  });

  it("a store that cannot be read refuses (undefined); one that cannot be written throws on raise and setPending, never on confirm", () => {
    const broken: KeyValueStore = {
      get: () => {
        throw new Error("nvs read");
      },
      set: () => undefined,
      delete: () => undefined,
    };
    const problems: string[] = [];
    assert.equal(new SecurityFloor(broken, (m) => problems.push(m)).floor(), undefined);
    assert.match(problems[0] ?? "", /unreadable: nvs read/);
    const store = new MemoryStore();
    const readOnly: KeyValueStore = {
      get: (k) => store.get(k),
      set: () => {
        throw new Error("nvs full");
      },
      delete: (k) => store.delete(k),
    };
    store.set(SECURITY_PENDING_KEY, JSON.stringify({ v: 1, version: "1.4.0", sv: 4 }));
    const floor = new SecurityFloor(readOnly, (m) => problems.push(m));
    assert.throws(() => floor.raise(2), /nvs full/);
    assert.throws(() => floor.setPending({ version: "1.4.0", securityVersion: 4 }), /nvs full/);
    assert.equal(floor.confirm("1.4.0"), 0);
    assert.match(problems[problems.length - 1] ?? "", /not raised to 4: nvs full/);
  });

  it("ignores a malformed pending record", () => {
    const store = new MemoryStore();
    const problems: string[] = [];
    for (const raw of ["{", "[]", JSON.stringify({ v: 2, version: "1.0.0", sv: 1 }), JSON.stringify({ v: 1, version: "x", sv: 1 }), JSON.stringify({ v: 1, version: "1.0.0", sv: -1 })]) {
      store.set(SECURITY_PENDING_KEY, raw);
      assert.equal(new SecurityFloor(store, (m) => problems.push(m)).pending(), undefined, raw);
    }
    assert.equal(new SecurityFloor(store).confirm("1.0.0"), 0);
    assert.equal(store.get(SECURITY_PENDING_KEY), undefined, "and removes it");
    assert.ok(problems.length >= 5);
  });
});
