import assert from "node:assert/strict";
import { resolve } from "node:path";
import { EUROPE_POOL } from "../../src/time/sntp-client";
import { UsageError, defaultStateDir, endpoint, ntpRoutes } from "../../host/cli/endpoints";
import { Style, colourWanted } from "../../host/cli/style";
import { permanentTlsFailure } from "../../host/cli/tls-failure";

/** The host runner's small decisions (host/cli): where names go, the state folder, colours, lasting TLS failures. */
describe("npm start flags and terminal decisions", () => {
  it("--ntp: one serves all four pool names; several keep name N at the N-th, cycling when fewer than four", () => {
    const text = (flags: string[]) => ntpRoutes(flags).map(([name, to]) => `${name}>${to.address}:${to.port}`);
    assert.deepEqual(text([]), []);
    assert.deepEqual(text(["127.0.0.1:1123"]), EUROPE_POOL.map((name) => `${name}>127.0.0.1:1123`));
    assert.deepEqual(text(["127.0.0.1:1", "127.0.0.1:2"]), EUROPE_POOL.map((name, i) => `${name}>127.0.0.1:${i % 2 ? 2 : 1}`));
    assert.deepEqual(text(["a:1", "b:2", "c:3", "d:4"]), EUROPE_POOL.map((name, i) => `${name}>${"abcd"[i]}:${i + 1}`));
    assert.throws(() => ntpRoutes(["a:1", "b:2", "c:3", "d:4", "e:5"]), UsageError);
  });

  it("ADDR:PORT, also [IPv6]:PORT; anything else is a usage error", () => {
    assert.deepEqual(endpoint("127.0.0.1:8883", "--hub"), { address: "127.0.0.1", port: 8883 });
    assert.deepEqual(endpoint("[::1]:123", "--ntp"), { address: "::1", port: 123 });
    for (const bad of ["127.0.0.1", "::1:123", "host:0", "host:65536", "host:x", ":1"]) assert.throws(() => endpoint(bad, "--hub"), UsageError, bad);
  });

  it("the default state folder is .dev/<device-id>, an id that is no plain file name percent-encoded", () => {
    assert.equal(defaultStateDir("kisbox-sim-1"), resolve(".dev/kisbox-sim-1"));
    assert.equal(defaultStateDir("box.42_a"), resolve(".dev/box.42_a"));
    assert.equal(defaultStateDir(".."), resolve(".dev/%2E%2E"));
    assert.equal(defaultStateDir("a/b"), resolve(".dev/a%2Fb"));
    assert.equal(defaultStateDir(".hidden"), resolve(".dev/%2Ehidden"));
  });

  it("colours only on a terminal, and not with NO_COLOR set to anything", () => {
    assert.equal(colourWanted({ isTTY: true }, {}), true);
    assert.equal(colourWanted({ isTTY: true }, { NO_COLOR: "1" }), false);
    assert.equal(colourWanted({ isTTY: true }, { NO_COLOR: "" }), true, "an empty NO_COLOR does not count (no-color.org)");
    assert.equal(colourWanted({ isTTY: false }, {}), false);
    assert.equal(colourWanted({}, {}), false);
    assert.equal(new Style(true).paint("31", "x"), "\x1b[31mx\x1b[0m");
    assert.equal(new Style(false).paint("31", "x"), "x");
  });

  it("tells TLS failures no retry heals from those that may pass", () => {
    assert.match(permanentTlsFailure("certificate refused: untrusted at 0: no path to a trusted root")!, /refused \(untrusted\)/);
    assert.match(permanentTlsFailure("certificate refused: name-mismatch at 0: localhost not in subjectAltName")!, /name-mismatch/);
    assert.equal(permanentTlsFailure("certificate refused: clock-not-set at 0: the clock is not set"), undefined);
    assert.equal(permanentTlsFailure("certificate refused: expired at 0: …"), undefined, "the clock may be what is wrong");
    assert.match(permanentTlsFailure("self-signed certificate in certificate chain")!, /not trusted/);
    assert.match(permanentTlsFailure("unable to get local issuer certificate")!, /not trusted/);
    assert.match(permanentTlsFailure("Hostname/IP does not match certificate's altnames: Host: broker. is not in the cert's altnames: DNS:localhost")!, /not for this host name/);
    assert.match(permanentTlsFailure("error:0A000418:SSL routines:ssl3_read_bytes:tlsv1 alert unknown ca:…:SSL alert number 48")!, /refused the device's certificate/);
    for (const passing of [undefined, "", "connect ECONNREFUSED 127.0.0.1:8883", "keep-alive timeout", "connection refused by the broker: server unavailable (CONNACK return code 3)"]) {
      assert.equal(permanentTlsFailure(passing), undefined, String(passing));
    }
  });
});
