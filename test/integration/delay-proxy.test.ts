import assert from "node:assert/strict";
import dgram from "node:dgram";
import { connect, createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { median } from "../bench/table";
import { FaultProxy, FaultUdpProxy } from "./support/fault-proxy";

/**
 * The bench's delay link (the fault proxy's latency mode): one-way delays measured over loopback. The bounds are
 * loose on the late side (a loaded 2-CPU machine delays timers) but tight on the early side: a proxy that does
 * not apply the delay measures about 0 ms and fails.
 */
describe("delay proxy: the one-way delay it adds is the one set (TCP and UDP, loopback)", function () {
  this.timeout(20_000);
  const ONE_WAY = 50;
  const LATE_SLACK = 150; // timers on a busy machine
  const EARLY_SLACK = 3; // Date.now() granularity and timer rounding

  function assertDelay(samples: number[], expected: number, what: string): void {
    const m = median(samples);
    assert.ok(m >= expected - EARLY_SLACK, `${what}: median ${m} ms is below the ${expected} ms set (${samples.join(", ")})`);
    assert.ok(m <= expected + LATE_SLACK, `${what}: median ${m} ms is far above the ${expected} ms set (${samples.join(", ")})`);
  }

  describe("TCP", () => {
    let server: Server;
    let proxy: FaultProxy;
    const arrivals: Array<{ at: number; text: string }> = [];
    let serverSide: Socket | undefined;

    before(async () => {
      server = createServer((s) => {
        serverSide = s;
        s.on("data", (d: Buffer) => arrivals.push({ at: Date.now(), text: d.toString() }));
        s.on("error", () => undefined);
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
      proxy = await FaultProxy.start((server.address() as AddressInfo).port);
    });

    after(async () => {
      await proxy.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    async function open(): Promise<{ socket: Socket; connectedAt: number }> {
      const socket = connect(proxy.port, "127.0.0.1");
      socket.setNoDelay(true);
      await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
      return { socket, connectedAt: Date.now() };
    }

    async function arrival(text: string): Promise<number> {
      for (let i = 0; i < 400; i++) {
        const hit = arrivals.find((a) => a.text.includes(text));
        if (hit) return hit.at;
        await new Promise((r) => setTimeout(r, 5));
      }
      throw new Error(`${text} never arrived`);
    }

    it("delays each direction by the latency set, and a round trip by twice that", async () => {
      proxy.setLatency(ONE_WAY).emulateHandshake(false);
      const { socket } = await open();
      const up: number[] = [];
      const round: number[] = [];
      socket.on("data", () => undefined);
      await new Promise((r) => setTimeout(r, 20)); // the server side is there
      for (let i = 0; i < 5; i++) {
        const sent = Date.now();
        const echoed = new Promise<number>((resolve) => socket.once("data", () => resolve(Date.now())));
        socket.write(`ping-${i};`);
        up.push((await arrival(`ping-${i};`)) - sent);
        serverSide!.write("pong");
        round.push((await echoed) - sent);
      }
      socket.destroy();
      assertDelay(up, ONE_WAY, "client to server");
      assertDelay(round, 2 * ONE_WAY, "round trip");
    });

    it("charges a new connection one round trip for the TCP handshake when asked to", async () => {
      proxy.setLatency(ONE_WAY).emulateHandshake(true);
      const { socket, connectedAt } = await open();
      socket.write("hello;");
      const firstBytes = (await arrival("hello;")) - connectedAt;
      socket.destroy();
      assertDelay([firstBytes], 3 * ONE_WAY, "first bytes of a new connection (handshake + one way)");
    });

    it("delivers what a server sent before it closed, delayed, then closes (HTTP with Connection: close)", async () => {
      proxy.setLatency(ONE_WAY).emulateHandshake(false);
      const { socket } = await open();
      let received = "";
      socket.on("data", (d: Buffer) => (received += d.toString()));
      const closed = new Promise<number>((resolve) => socket.once("close", () => resolve(Date.now())));
      await new Promise((r) => setTimeout(r, 20));
      const sent = Date.now();
      serverSide!.end("the whole answer");
      const at = await closed;
      assert.equal(received, "the whole answer");
      assertDelay([at - sent], ONE_WAY, "the close after the answer");
    });

    it("adds nothing at latency 0 (the baseline the bounds above tell apart)", async () => {
      proxy.setLatency(0).emulateHandshake(false);
      const { socket } = await open();
      await new Promise((r) => setTimeout(r, 20));
      const sent = Date.now();
      socket.write("quick;");
      const took = (await arrival("quick;")) - sent;
      socket.destroy();
      assert.ok(took < ONE_WAY - EARLY_SLACK, `an undelayed link took ${took} ms`);
    });
  });

  describe("UDP", () => {
    let echo: dgram.Socket;
    let proxy: FaultUdpProxy;

    before(async () => {
      echo = dgram.createSocket("udp4");
      echo.on("message", (msg, from) => echo.send(msg, from.port, from.address));
      await new Promise<void>((resolve) => echo.bind(0, "127.0.0.1", () => resolve()));
      proxy = await FaultUdpProxy.start(echo.address().port);
      proxy.setLatency(ONE_WAY);
    });

    after(async () => {
      await proxy.close();
      await new Promise<void>((resolve) => echo.close(() => resolve()));
    });

    it("delays a datagram's round trip by twice the latency set and notes when the first one came", async () => {
      const client = dgram.createSocket("udp4");
      await new Promise<void>((resolve) => client.bind(0, "127.0.0.1", () => resolve()));
      const round: number[] = [];
      proxy.resetCounters();
      const firstSent = Date.now();
      for (let i = 0; i < 5; i++) {
        const sent = Date.now();
        const back = new Promise<number>((resolve) => client.once("message", () => resolve(Date.now())));
        client.send(`n${i}`, proxy.port, "127.0.0.1");
        round.push((await back) - sent);
      }
      await new Promise<void>((resolve) => client.close(() => resolve()));
      assertDelay(round, 2 * ONE_WAY, "UDP round trip");
      assert.ok(proxy.firstDatagramAt !== undefined && proxy.firstDatagramAt - firstSent < ONE_WAY, "the first datagram is noted on arrival, before its delay");
    });
  });
});
