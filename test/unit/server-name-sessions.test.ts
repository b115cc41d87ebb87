import assert from "../support/assert";
import { ServerNameSessions } from "../../src/net/server-name-sessions";
import { TlsSessionCache } from "../../src/net/tls-session-cache";

const buf = (...bytes: number[]): ArrayBuffer => new Uint8Array(bytes).buffer;
const hex = (b: ArrayBuffer | undefined): string | undefined => (b ? Array.from(new Uint8Array(b), (x) => x.toString(16)).join(",") : undefined);

describe("ServerNameSessions (the device's TLS session cache behind the SDK's by-name interface)", () => {
  let time = 0;
  const make = (): ServerNameSessions => new ServerNameSessions(new TlsSessionCache({ now: () => time, maxAgeMs: 60_000 }));
  const HUB = "hub.example.net";

  /** One connection: begin, (chain accepted), the SDK saves at the end of its handshake, end. */
  function connection(s: ServerNameSessions, scope: string, id: number, options: { accepted?: boolean; failed?: boolean } = {}): string | undefined {
    const lease = s.begin(HUB, scope);
    const offered = hex(s.getByHost(HUB)?.id);
    if (options.accepted ?? true) lease.chainAccepted();
    if (!options.failed) s.saveSession(HUB, buf(id), buf(0xee, id));
    s.end(lease, options.failed ?? false);
    return offered;
  }

  it("offers the session of the previous connection with the same scope", () => {
    time = 0;
    const s = make();
    assert.equal(connection(s, "scope-a", 1), undefined);
    assert.equal(connection(s, "scope-a", 1), "1");
  });

  it("offers nothing to another scope (other roots, identity, address or port) for the same name", () => {
    const s = make();
    connection(s, "scope-a", 1);
    assert.equal(connection(s, "scope-b", 2), undefined);
    assert.equal(connection(s, "scope-a", 3), "1", "scope a's own session is kept");
  });

  it("offers nothing for a name without an open lease (a connection the adapter did not begin)", () => {
    const s = make();
    connection(s, "scope-a", 1);
    assert.equal(s.getByHost(HUB), undefined);
    s.saveSession(HUB, buf(9), buf(9));
    assert.equal(connection(s, "scope-a", 1), "1", "and saved nothing either");
  });

  it("keeps no new session unless the chain was accepted on that connection", () => {
    const s = make();
    connection(s, "scope-a", 1, { accepted: false });
    assert.equal(connection(s, "scope-a", 2), undefined);
  });

  it("drops the session when a connection fails", () => {
    const s = make();
    connection(s, "scope-a", 1);
    assert.equal(connection(s, "scope-a", 1, { failed: true }), "1");
    assert.equal(connection(s, "scope-a", 2), undefined);
  });

  it("a resumed handshake keeps the session's original age", () => {
    time = 0;
    const s = make();
    connection(s, "scope-a", 1);
    time = 50_000;
    assert.equal(connection(s, "scope-a", 1, { accepted: false }), "1"); // resumed: no check, same ID saved again
    time = 60_001;
    assert.equal(connection(s, "scope-a", 4), undefined, "expired 60 s after the check, not after the resumption");
  });

  it("after a refused resumption keeps the new session and deletes only the refused one", () => {
    const s = make();
    connection(s, "scope-a", 1);
    const lease = s.begin(HUB, "scope-a");
    assert.equal(hex(s.getByHost(HUB)?.id), "1");
    lease.chainAccepted();
    s.saveSession(HUB, buf(2), buf(0xee, 2)); // the SDK saves the full handshake's session first...
    s.deleteSessionID(buf(1)); // ...then deletes the one the server did not resume
    s.end(lease, false);
    assert.equal(connection(s, "scope-a", 2), "2");
  });

  it("offers and saves nothing while connections with two scopes to one name are open", () => {
    const s = make();
    connection(s, "scope-a", 1);
    const a = s.begin(HUB, "scope-a");
    const b = s.begin(HUB, "scope-b");
    assert.equal(s.getByHost(HUB), undefined);
    a.chainAccepted();
    b.chainAccepted();
    s.saveSession(HUB, buf(7), buf(7));
    s.end(a, false);
    s.end(b, false);
    assert.equal(connection(s, "scope-b", 8), undefined, "scope b got nothing from the contended time");
    assert.equal(connection(s, "scope-a", 9), "1");
  });
});
