import { connect, createServer, type Server, type Socket } from "node:net";
import type { AddressInfo } from "node:net";

/**
 * What the plaintext part of one TLS handshake showed. ClientHello: the session ID and the extensions the client
 * sent — a TLS 1.3 resumption offer is a `pre_shared_key` extension (41), a TLS 1.2 ticket offer a non-empty
 * `session_ticket` (35), a TLS 1.2 session-ID offer a session ID (TLS 1.3 clients also send a random one for
 * middleboxes, so there only 41 counts). Server (TLS 1.2): the session ID of its ServerHello and the handshake
 * messages before its ChangeCipherSpec — an abbreviated handshake is ServerHello → ChangeCipherSpec with the
 * client's session ID and no Certificate (11); a full one carries the Certificate.
 */
export interface HandshakeRecord {
  /** The session ID in the ClientHello (hex, "" when none). */
  offered: string | undefined;
  /** ClientHello extensions: type → length of its data. */
  readonly clientExtensions: Map<number, number>;
  /** The server's session ID in its ServerHello (hex). */
  chosen: string | undefined;
  /** The server's handshake message types before its ChangeCipherSpec, in order (2 ServerHello, 11 Certificate, ...). */
  readonly serverMessages: number[];
  serverChangeCipherSpec: boolean;
}

export type HandshakeKind = "full" | "abbreviated" | "incomplete";

/** TLS 1.2: full (the server sent its Certificate), abbreviated (resumed), or incomplete (no ChangeCipherSpec). */
export function kindOf(h: HandshakeRecord): HandshakeKind {
  if (!h.serverChangeCipherSpec) return "incomplete";
  if (h.serverMessages.includes(11)) return "full";
  return h.offered !== undefined && h.offered !== "" && h.offered === h.chosen ? "abbreviated" : "incomplete";
}

/** Whether the ClientHello offered a TLS 1.3 PSK (a ticket) or a TLS 1.2 session ticket. */
export function offersTicket(h: HandshakeRecord): boolean {
  return h.clientExtensions.has(41) || (h.clientExtensions.get(35) ?? 0) > 0;
}

/**
 * A loopback TCP forwarder that reads the TLS records passing through (without changing them) and records each
 * connection's handshake as above: the wire evidence of resumption. A reset on one side is passed on as a reset
 * (as a dropped link shows up at the server), an orderly close as a close.
 */
export class TlsHandshakeCensus {
  readonly handshakes: HandshakeRecord[] = [];
  /** Where new connections go (loopback); change it to put another server behind the same port. */
  targetPort: number;
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    targetPort: number,
  ) {
    this.targetPort = targetPort;
  }

  static async start(targetPort: number): Promise<TlsHandshakeCensus> {
    let self: TlsHandshakeCensus | undefined;
    const server = createServer((client) => self!.forward(client));
    self = new TlsHandshakeCensus(server, targetPort);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    return self;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  kinds(): HandshakeKind[] {
    return this.handshakes.map(kindOf);
  }

  /** Resets every connection (both directions), as a dropped link would. */
  cutAll(): void {
    for (const s of this.sockets) s.resetAndDestroy();
    this.sockets.clear();
  }

  async close(): Promise<void> {
    this.cutAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private forward(client: Socket): void {
    const record: HandshakeRecord = { offered: undefined, clientExtensions: new Map(), chosen: undefined, serverMessages: [], serverChangeCipherSpec: false };
    this.handshakes.push(record);
    const upstream = connect(this.targetPort, "127.0.0.1");
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.on("close", () => this.sockets.delete(s));
    }
    const fromClient = new RecordReader((type, fragment) => {
      if (type !== 22) return false;
      for (const [msgType, message] of handshakeMessages(fragment)) {
        if (msgType === 1 && record.offered === undefined) readClientHello(message, record);
      }
      return record.offered === undefined;
    });
    const fromServer = new RecordReader((type, fragment) => {
      if (type === 20) {
        record.serverChangeCipherSpec = true;
        return false;
      }
      if (type !== 22) return false;
      for (const [msgType, message] of handshakeMessages(fragment)) {
        record.serverMessages.push(msgType);
        if (msgType === 2) record.chosen ??= helloSessionId(message);
      }
      return true;
    });
    client.on("data", (data: Buffer) => {
      fromClient.push(data);
      upstream.write(data);
    });
    upstream.on("data", (data: Buffer) => {
      fromServer.push(data);
      client.write(data);
    });
    const pass = (from: Socket, to: Socket): void => {
      from.on("end", () => to.end());
      from.on("error", () => {
        if (!to.destroyed) to.resetAndDestroy();
      });
      from.on("close", () => {
        if (!to.destroyed) to.destroySoon();
      });
    };
    pass(client, upstream);
    pass(upstream, client);
  }
}

/** Splits a byte stream into TLS records and hands each (type, fragment) on while the callback returns true. */
class RecordReader {
  private pending = Buffer.alloc(0);
  private done = false;

  constructor(private readonly onRecord: (type: number, fragment: Buffer) => boolean) {}

  push(data: Buffer): void {
    if (this.done) return;
    this.pending = Buffer.concat([this.pending, data]);
    while (!this.done && this.pending.length >= 5) {
      const length = this.pending.readUInt16BE(3);
      if (this.pending.length < 5 + length) return;
      const type = this.pending[0]!;
      const fragment = this.pending.subarray(5, 5 + length);
      this.pending = this.pending.subarray(5 + length);
      if (!this.onRecord(type, fragment)) this.done = true;
    }
  }
}

/** The handshake messages in one record's fragment (none spans records in the handshakes seen here). */
function* handshakeMessages(fragment: Buffer): Generator<[number, Buffer]> {
  let at = 0;
  while (at + 4 <= fragment.length) {
    const length = fragment.readUIntBE(at + 1, 3);
    yield [fragment[at]!, fragment.subarray(at, at + 4 + length)];
    at += 4 + length;
  }
}

/** Offset of the session ID length in a ClientHello or ServerHello (type 1, length 3, version 2, random 32). */
const SESSION_ID_AT = 4 + 2 + 32;

function helloSessionId(message: Buffer): string {
  const length = message[SESSION_ID_AT] ?? 0;
  return message.subarray(SESSION_ID_AT + 1, SESSION_ID_AT + 1 + length).toString("hex");
}

function readClientHello(message: Buffer, record: HandshakeRecord): void {
  record.offered = helloSessionId(message);
  let at = SESSION_ID_AT + 1 + message[SESSION_ID_AT]!;
  at += 2 + message.readUInt16BE(at); // cipher suites
  at += 1 + message[at]!; // compression methods
  if (at + 2 > message.length) return;
  const end = at + 2 + message.readUInt16BE(at);
  at += 2;
  while (at + 4 <= end) {
    const type = message.readUInt16BE(at);
    const length = message.readUInt16BE(at + 2);
    record.clientExtensions.set(type, length);
    at += 4 + length;
  }
}
