import assert from "../support/assert";
import { TlsSessionCache, sessionKey, type SessionScope } from "../../src/net/tls-session-cache";
import { portableHash } from "../../src/crypto/sha2";
import { utf8 } from "../../src/core/bytes";

describe("TlsSessionCache (sessions kept for resumption)", () => {
  const clock = { t: 1_000 };
  const now = (): number => clock.t;

  it("returns a stored session until it is older than maxAgeMs, then drops it", () => {
    clock.t = 1_000;
    const cache = new TlsSessionCache<string>({ now, maxAgeMs: 60_000 });
    cache.put("a", "session-a");
    clock.t += 60_000;
    assert.equal(cache.get("a"), "session-a");
    clock.t += 1;
    assert.equal(cache.get("a"), undefined);
    assert.equal(cache.size, 0);
  });

  it("expires an entry when the clock went backwards", () => {
    clock.t = 50_000;
    const cache = new TlsSessionCache<string>({ now, maxAgeMs: 60_000 });
    cache.put("a", "session-a");
    clock.t = 49_999;
    assert.equal(cache.get("a"), undefined);
  });

  it("keeps at most maxEntries, evicting the oldest stored", () => {
    clock.t = 0;
    const cache = new TlsSessionCache<number>({ now, maxEntries: 2 });
    cache.put("a", 1);
    cache.put("b", 2);
    cache.put("a", 3); // replaced: now the newest
    cache.put("c", 4);
    assert.equal(cache.get("b"), undefined);
    assert.equal(cache.get("a"), 3);
    assert.equal(cache.get("c"), 4);
  });

  it("drop removes the key's session", () => {
    const cache = new TlsSessionCache<number>({ now });
    cache.put("a", 1);
    cache.drop("a");
    assert.equal(cache.get("a"), undefined);
  });

  it("caps maxAgeMs at 24 hours", () => {
    clock.t = 0;
    const cache = new TlsSessionCache<number>({ now, maxAgeMs: 7 * 24 * 3600_000 });
    cache.put("a", 1);
    clock.t = 24 * 3600_000 + 1;
    assert.equal(cache.get("a"), undefined);
  });
});

describe("sessionKey (what a TLS session is bound to)", () => {
  const base: SessionScope = {
    serverName: "hub.example.net",
    host: "127.0.0.1",
    port: 8883,
    ca: [utf8("root-1"), utf8("root-2")],
    certificate: utf8("device-a"),
  };
  const key = (scope: SessionScope): string => sessionKey(scope, portableHash);

  it("is the same for the same scope", () => {
    assert.equal(key(base), key({ ...base, ca: [utf8("root-1"), utf8("root-2")], certificate: utf8("device-a") }));
  });

  it("differs for another server name, host, port, set of roots or client identity", () => {
    const k = key(base);
    const others: SessionScope[] = [
      { ...base, serverName: "other.example.net" },
      { ...base, host: "127.0.0.2" },
      { ...base, port: 8884 },
      { ...base, ca: [utf8("root-1")] },
      { ...base, ca: [utf8("root-1root-2")] },
      { ...base, ca: [utf8("root-1r"), utf8("oot-2")] },
      { ...base, certificate: utf8("device-b") },
      { ...base, certificate: undefined },
    ];
    const keys = others.map(key);
    for (const other of keys) assert.notEqual(other, k);
    assert.equal(new Set(keys).size, keys.length, "every scope has its own key");
  });
});
