import type { Clock } from "../../src/ports/clock";
import type { DatagramHandlers, DatagramPort, DatagramSocket, DatagramSource } from "../../src/ports/udp";
import { NTP_PACKET_SIZE, writeTimestamp } from "../../src/time/sntp-packet";

/** Fields of a crafted NTP packet; unset ones take a valid server reply's values. */
export interface PacketFields {
  readonly leap?: number;
  readonly version?: number;
  readonly mode?: number;
  readonly stratum?: number;
  readonly poll?: number;
  readonly precision?: number;
  /** Reference identifier: 4 ASCII characters (kiss code, "GPS") or 4 bytes. */
  readonly referenceId?: string | Uint8Array;
  /** The originate timestamp, 8 raw bytes (normally the request's transmit timestamp). */
  readonly originate?: Uint8Array;
  /** Receive (T2) and transmit (T3) times, Unix ms; or raw 8 bytes. */
  readonly receive?: number | Uint8Array;
  readonly transmit?: number | Uint8Array;
  /** Packet length (default 48); extra bytes are zero. */
  readonly length?: number;
}

/** An NTP packet built field by field, for tests of replies good and bad. */
export function craftPacket(fields: PacketFields = {}): Uint8Array {
  const bytes = new Uint8Array(fields.length ?? NTP_PACKET_SIZE);
  const full = new Uint8Array(Math.max(NTP_PACKET_SIZE, bytes.length));
  full[0] = (((fields.leap ?? 0) & 3) << 6) | (((fields.version ?? 4) & 7) << 3) | ((fields.mode ?? 4) & 7);
  full[1] = fields.stratum ?? 2;
  full[2] = (fields.poll ?? 6) & 0xff;
  full[3] = (fields.precision ?? -20) & 0xff;
  const ref = fields.referenceId ?? new Uint8Array([192, 0, 2, 1]);
  for (let i = 0; i < 4; i++) full[12 + i] = typeof ref === "string" ? (i < ref.length ? ref.charCodeAt(i) : 0) : ref[i]!;
  if (fields.originate) full.set(fields.originate.subarray(0, 8), 24);
  const put = (at: number, value: number | Uint8Array | undefined): void => {
    if (value === undefined) return;
    if (typeof value === "number") writeTimestamp(full, at, value);
    else full.set(value.subarray(0, 8), at);
  };
  put(16, fields.receive); // reference timestamp: as good as any
  put(32, fields.receive);
  put(40, fields.transmit);
  bytes.set(full.subarray(0, bytes.length));
  return bytes;
}

/** What a scripted server does with a request. */
export type ServerScript =
  /** A valid reply. Its clock runs `offsetMs` ahead of the test clock; the reply arrives after `roundTripMs` (0: at once). */
  | { readonly kind: "answer"; readonly offsetMs?: number; readonly roundTripMs?: number; readonly fields?: PacketFields }
  /** Nothing comes back. */
  | { readonly kind: "ignore" }
  /** Bytes that are no NTP reply. */
  | { readonly kind: "garbage"; readonly bytes?: Uint8Array }
  /** A kiss-o'-death reply with this code. */
  | { readonly kind: "kiss"; readonly code: string }
  /** The send itself fails (e.g. the name does not resolve). */
  | { readonly kind: "send-error"; readonly message?: string };

export interface SentRequest {
  readonly host: string;
  readonly port: number;
  readonly bytes: Uint8Array;
  /** Test clock's monotonic time of the send. */
  readonly at: number;
  readonly socket: FakeDatagramSocket;
}

export class FakeDatagramSocket implements DatagramSocket {
  closed = false;

  constructor(
    private readonly owner: FakeDatagrams,
    private readonly handlers: DatagramHandlers,
  ) {}

  send(host: string, port: number, data: Uint8Array): Promise<void> {
    if (this.closed) return Promise.reject(new Error("socket closed"));
    return this.owner.handle(this, host, port, data.slice());
  }

  close(): void {
    this.closed = true;
  }

  /** Delivers a datagram unless the socket is closed (late replies to a closed socket are lost, as on a real one). */
  deliver(data: Uint8Array, from: DatagramSource): boolean {
    if (this.closed) return false;
    this.handlers.onMessage(data, from);
    return true;
  }
}

/**
 * A DatagramPort with scripted NTP servers, for unit tests of the SNTP client (the integration tests use
 * chrony). Unscripted hosts ignore requests.
 */
export class FakeDatagrams implements DatagramPort {
  readonly sockets: FakeDatagramSocket[] = [];
  readonly requests: SentRequest[] = [];
  private readonly scripts = new Map<string, ServerScript>();
  private readonly addresses = new Map<string, string>();

  constructor(private readonly clock: Clock) {}

  open(handlers: DatagramHandlers): DatagramSocket {
    const socket = new FakeDatagramSocket(this, handlers);
    this.sockets.push(socket);
    return socket;
  }

  /** Sets what `host` does with the requests that follow. */
  script(host: string, script: ServerScript): this {
    this.scripts.set(host, script);
    return this;
  }

  /** Makes replies from `host` come from `address` (e.g. two pool names behind one server). */
  setAddress(host: string, address: string): this {
    this.addresses.set(host, address);
    return this;
  }

  /** The (made-up) address replies from `host` come from. */
  addressOf(host: string): string {
    let address = this.addresses.get(host);
    if (!address) {
      address = `192.0.2.${this.addresses.size + 1}`;
      this.addresses.set(host, address);
    }
    return address;
  }

  /** The hosts asked, in order. */
  get hosts(): string[] {
    return this.requests.map((r) => r.host);
  }

  get openSockets(): number {
    return this.sockets.filter((s) => !s.closed).length;
  }

  /** Delivers `data` to the newest open socket (a stray or forged datagram). */
  inject(data: Uint8Array, from: DatagramSource = { address: "198.51.100.7", port: 123 }): boolean {
    const open = this.sockets.filter((s) => !s.closed);
    const socket = open[open.length - 1];
    return socket ? socket.deliver(data, from) : false;
  }

  /** @internal Called by the sockets. */
  handle(socket: FakeDatagramSocket, host: string, port: number, data: Uint8Array): Promise<void> {
    const script = this.scripts.get(host) ?? { kind: "ignore" };
    if (script.kind === "send-error") return Promise.reject(new Error(script.message ?? `getaddrinfo ENOTFOUND ${host}`));
    this.requests.push({ host, port, bytes: data, at: this.clock.monotonic(), socket });
    const from = { address: this.addressOf(host), port };
    const originate = data.slice(40, 48);
    const reply = (bytes: Uint8Array, afterMs: number): void => {
      const deliver = (): void => void socket.deliver(bytes, from);
      if (afterMs > 0) this.clock.setTimeout(deliver, afterMs);
      else void Promise.resolve().then(deliver);
    };
    switch (script.kind) {
      case "ignore":
        break;
      case "garbage":
        reply(script.bytes ?? new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), 0);
        break;
      case "kiss":
        reply(craftPacket({ leap: 3, stratum: 0, referenceId: script.code, originate }), 0);
        break;
      case "answer": {
        const roundTrip = script.roundTripMs ?? 0;
        const serverTime = this.clock.now() + (script.offsetMs ?? 0) + roundTrip / 2;
        reply(craftPacket({ originate, receive: serverTime, transmit: serverTime, ...script.fields }), roundTrip);
        break;
      }
    }
    return Promise.resolve();
  }
}
