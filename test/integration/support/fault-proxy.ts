import dgram from "node:dgram";
import { createServer, connect, type AddressInfo, type Server, type Socket } from "node:net";

/** What the link does to the bytes passing through, changeable at any time. */
export interface LinkFaults {
  /** Delay added to every chunk, in ms (order is kept). */
  latencyMs: number;
  /** Hold all bytes (connections stay open, nothing is delivered); `resume()` delivers what was held. */
  stalled: boolean;
  /** Swallow all bytes silently (connections stay open); lost bytes are never delivered. */
  blackholed: boolean;
  /** Deliver bytes one at a time (one write per byte, a macrotask between them). */
  trickle: boolean;
  /** Reset every new connection at once (a refusing or unreachable peer). */
  refuse: boolean;
  /**
   * Charge TCP's handshake to a new connection: its first bytes towards the server leave no earlier than one round
   * trip (2 × latencyMs) after it was accepted. The kernel answers the SYN on loopback at once, so without this a
   * connection would cost no round trip on the delayed link, as it does on a real one.
   */
  handshake: boolean;
}

interface Chunk {
  readonly data: Buffer;
  readonly due: number;
  /** The sender closed: end the receiving side once everything before has been delivered. */
  readonly end?: () => void;
}

/** One direction of one proxied connection. */
class Pipe {
  private readonly queue: Chunk[] = [];
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  bytes = 0;

  constructor(
    private readonly to: Socket,
    private readonly faults: LinkFaults,
    private readonly counters: { writes: number },
  ) {}

  /** No byte leaves before this time (the emulated TCP handshake of the upstream direction). */
  openAt = 0;

  push(data: Buffer): void {
    if (this.faults.blackholed) return;
    this.queue.push({ data, due: Math.max(Date.now(), this.openAt) + this.faults.latencyMs });
    this.pump();
  }

  pump(): void {
    if (this.busy || this.faults.stalled || this.to.destroyed) return;
    if (this.faults.blackholed) {
      this.queue.length = 0;
      return;
    }
    const head = this.queue[0];
    if (!head) return;
    const wait = head.due - Date.now();
    if (wait > 0) {
      if (!this.timer) {
        this.timer = setTimeout(() => {
          this.timer = undefined;
          this.pump();
        }, wait);
      }
      return;
    }
    if (this.faults.trickle) {
      this.to.write(head.data.subarray(0, 1));
      this.counters.writes++;
      this.bytes++;
      if (head.data.length > 1) this.queue[0] = { data: head.data.subarray(1), due: head.due };
      else this.queue.shift();
      this.busy = true;
      setImmediate(() => {
        this.busy = false;
        this.pump();
      });
      return;
    }
    this.queue.shift();
    if (head.end) {
      head.end();
      return;
    }
    this.bytes += head.data.length;
    this.counters.writes++;
    this.to.write(head.data);
    this.pump();
  }

  /** The sender closed: `then` runs after the bytes already on their way are delivered, with the same delay. */
  finish(then: () => void): void {
    this.queue.push({ data: Buffer.alloc(0), due: Math.max(Date.now(), this.openAt) + this.faults.latencyMs, end: then });
    this.pump();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.queue.length = 0;
  }
}

interface Link {
  readonly client: Socket;
  readonly upstream: Socket;
  readonly up: Pipe;
  readonly down: Pipe;
}

/**
 * A loopback TCP proxy between the device and a server whose link a test can degrade at will: latency,
 * stall (hold bytes, keep connections), blackhole (swallow bytes), reset (RST every connection), refuse
 * new connections, deliver byte by byte. `close()` stops it and every connection.
 */
export class FaultProxy {
  readonly faults: LinkFaults = { latencyMs: 0, stalled: false, blackholed: false, trickle: false, refuse: false, handshake: false };
  private readonly links = new Set<Link>();
  private readonly acceptListeners = new Set<(at: number) => void>();
  /** Connections accepted, and reset by `reset()` or `refuse`. */
  connections = 0;
  resets = 0;
  bytesUp = 0;
  bytesDown = 0;
  /** Writes made to either side (one per byte while trickling). */
  writes = 0;

  private constructor(
    private readonly server: Server,
    readonly targetPort: number,
    readonly targetHost: string,
  ) {}

  static async start(targetPort: number, targetHost = "127.0.0.1"): Promise<FaultProxy> {
    const server = createServer();
    const proxy = new FaultProxy(server, targetPort, targetHost);
    server.on("connection", (client) => proxy.accept(client));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    return proxy;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Connections open now. */
  get open(): number {
    return this.links.size;
  }

  setLatency(ms: number): this {
    this.faults.latencyMs = ms;
    return this;
  }

  /** Stops forwarding (bytes are held; connections stay open). */
  stall(): this {
    this.faults.stalled = true;
    return this;
  }

  /** Ends a stall or a blackhole; held bytes are delivered in order. */
  resume(): this {
    this.faults.stalled = false;
    this.faults.blackholed = false;
    for (const link of this.links) {
      link.up.pump();
      link.down.pump();
    }
    return this;
  }

  /** Silently drops every byte from now on (and what is held), connections stay open. */
  blackhole(): this {
    this.faults.blackholed = true;
    for (const link of this.links) {
      link.up.stop();
      link.down.stop();
    }
    return this;
  }

  /** Delivers bytes one at a time (on) or normally (off). */
  trickle(on = true): this {
    this.faults.trickle = on;
    return this;
  }

  /** Charges a TCP handshake (one round trip) to every new connection while on (see LinkFaults.handshake). */
  emulateHandshake(on = true): this {
    this.faults.handshake = on;
    return this;
  }

  /** Calls `listener` with the time (Date.now()) of every connection accepted (not refused) from now on. */
  onAccept(listener: (at: number) => void): () => void {
    this.acceptListeners.add(listener);
    return () => this.acceptListeners.delete(listener);
  }

  /** Resets (RST) new connections at once while on. */
  refuse(on = true): this {
    this.faults.refuse = on;
    return this;
  }

  /** Resets every open connection, both sides, as a dropped Wi-Fi link would. */
  reset(): void {
    for (const link of this.links) this.drop(link, true);
  }

  /** Stops listening and resets every connection. */
  async close(): Promise<void> {
    this.reset();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    this.connections++;
    if (this.faults.refuse) {
      this.resets++;
      client.resetAndDestroy();
      return;
    }
    const acceptedAt = Date.now();
    client.setNoDelay(true);
    const upstream = connect(this.targetPort, this.targetHost);
    upstream.setNoDelay(true);
    const link: Link = { client, upstream, up: new Pipe(upstream, this.faults, this), down: new Pipe(client, this.faults, this) };
    if (this.faults.handshake) link.up.openAt = acceptedAt + 2 * this.faults.latencyMs;
    this.links.add(link);
    for (const listener of this.acceptListeners) listener(acceptedAt);
    client.on("data", (d: Buffer) => {
      this.bytesUp += d.length;
      link.up.push(d);
    });
    upstream.on("data", (d: Buffer) => {
      this.bytesDown += d.length;
      link.down.push(d);
    });
    const end = (): void => this.drop(link, false);
    // On a delayed link a close travels like the bytes before it: a server that answers and closes (HTTP with
    // Connection: close) must not lose its answer to the delay. Errors and the other faults still end at once.
    const closeFrom = (pipe: Pipe) => (): void => {
      if (this.faults.latencyMs > 0 && !this.faults.stalled && !this.faults.blackholed && !this.faults.trickle) pipe.finish(end);
      else end();
    };
    for (const s of [client, upstream]) s.on("error", end);
    client.on("close", closeFrom(link.up));
    upstream.on("close", closeFrom(link.down));
  }

  private drop(link: Link, reset: boolean): void {
    if (!this.links.delete(link)) return;
    if (reset) this.resets++;
    link.up.stop();
    link.down.stop();
    for (const s of [link.client, link.upstream]) {
      if (s.destroyed) continue;
      if (reset) s.resetAndDestroy();
      else s.destroy();
    }
  }
}

/**
 * The UDP counterpart: datagrams from each client address go to the target through their own upstream
 * socket (so replies find their way back). Faults: drop every datagram (or a share of them), stall
 * (hold, deliver on `resume()`), latency, duplication.
 */
export class FaultUdpProxy {
  readonly faults = { latencyMs: 0, stalled: false, blackholed: false, dropRate: 0, duplicate: false };
  private readonly clients = new Map<string, dgram.Socket>();
  private readonly held: Array<() => void> = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  forwarded = 0;
  dropped = 0;
  /** When the first datagram from a client arrived (Date.now()), until `resetCounters()`. */
  firstDatagramAt: number | undefined;

  private constructor(
    private readonly socket: dgram.Socket,
    readonly targetPort: number,
    readonly targetHost: string,
    private readonly random: () => number,
  ) {}

  static async start(targetPort: number, targetHost = "127.0.0.1", random: () => number = Math.random): Promise<FaultUdpProxy> {
    const socket = dgram.createSocket("udp4");
    const proxy = new FaultUdpProxy(socket, targetPort, targetHost, random);
    socket.on("message", (msg, from) => proxy.fromClient(msg, from));
    socket.on("error", () => undefined);
    await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", () => resolve()));
    return proxy;
  }

  get port(): number {
    return this.socket.address().port;
  }

  stall(): this {
    this.faults.stalled = true;
    return this;
  }

  resume(): this {
    this.faults.stalled = false;
    this.faults.blackholed = false;
    for (const send of this.held.splice(0)) send();
    return this;
  }

  blackhole(): this {
    this.faults.blackholed = true;
    this.held.length = 0;
    return this;
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.held.length = 0;
    const sockets = [this.socket, ...this.clients.values()];
    this.clients.clear();
    await Promise.all(sockets.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }

  setLatency(ms: number): this {
    this.faults.latencyMs = ms;
    return this;
  }

  /** Forgets `firstDatagramAt` (and the counts), to time the next exchange. */
  resetCounters(): this {
    this.firstDatagramAt = undefined;
    this.forwarded = 0;
    this.dropped = 0;
    return this;
  }

  private fromClient(msg: Buffer, from: dgram.RemoteInfo): void {
    this.firstDatagramAt ??= Date.now();
    const key = `${from.address}:${from.port}`;
    let upstream = this.clients.get(key);
    if (!upstream) {
      const created = dgram.createSocket("udp4");
      created.on("error", () => undefined);
      created.on("message", (reply) => this.forward(() => {
        try {
          this.socket.send(reply, from.port, from.address);
        } catch {
          // closed meanwhile
        }
      }));
      this.clients.set(key, created);
      upstream = created;
    }
    const target = upstream;
    this.forward(() => {
      try {
        target.send(msg, this.targetPort, this.targetHost);
      } catch {
        // closed meanwhile (the proxy is stopping)
      }
    });
  }

  private forward(send: () => void): void {
    if (this.faults.blackholed || (this.faults.dropRate > 0 && this.random() < this.faults.dropRate)) {
      this.dropped++;
      return;
    }
    const deliver = (): void => {
      if (this.faults.stalled) {
        this.held.push(deliver);
        return;
      }
      this.forwarded++;
      send();
      if (this.faults.duplicate) send();
    };
    if (this.faults.latencyMs > 0) {
      const t = setTimeout(() => {
        this.timers.delete(t);
        deliver();
      }, this.faults.latencyMs);
      this.timers.add(t);
    } else deliver();
  }
}
