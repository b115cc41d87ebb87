import type { MqttConnectOptions, MqttConnector, MqttSession, MqttSessionEvents, MqttSubscription, QoS } from "../../src/ports/mqtt";
import { MqttConnectError } from "../../src/ports/mqtt";
import { fromUtf8, utf8 } from "../../src/core/bytes";

export interface PublishedPacket {
  topic: string;
  payload: Uint8Array;
  qos: QoS;
  text: string;
  ack(): void;
  fail(error?: Error): void;
  acked: boolean;
}

/**
 * An in-memory stand-in for the MQTT port, for unit tests of the core only (integration tests use
 * a real broker). The test decides when CONNACK, SUBACK and PUBACK happen.
 */
export class FakeSession implements MqttSession {
  readonly published: PublishedPacket[] = [];
  readonly subscriptions: MqttSubscription[] = [];
  closed = false;
  autoAckQos1 = false;
  grant: (s: MqttSubscription) => number = (s) => s.qos;
  /** When true, a SUBSCRIBE waits for `suback()` (else its SUBACK comes at once). */
  holdSuback = false;
  /** Packets in the order the device sent them: "SUBSCRIBE" or "PUBLISH <topic>". */
  readonly sent: string[] = [];
  private readonly pendingSubacks: Array<() => void> = [];

  constructor(
    readonly options: MqttConnectOptions,
    private readonly events: MqttSessionEvents,
  ) {}

  publish(topic: string, payload: Uint8Array, qos: QoS): Promise<void> {
    if (this.closed) return Promise.reject(new Error("closed"));
    this.sent.push(`PUBLISH ${topic}`);
    return new Promise((resolve, reject) => {
      const packet: PublishedPacket = {
        topic,
        payload,
        qos,
        text: fromUtf8(payload),
        acked: false,
        ack: () => {
          packet.acked = true;
          resolve();
        },
        fail: (e) => reject(e ?? new Error("failed")),
      };
      this.published.push(packet);
      if (qos === 0 || this.autoAckQos1) packet.ack();
    });
  }

  subscribe(subscriptions: readonly MqttSubscription[]): Promise<number[]> {
    if (this.closed) return Promise.reject(new Error("closed"));
    this.subscriptions.push(...subscriptions);
    this.sent.push("SUBSCRIBE");
    const granted = (): number[] => subscriptions.map((s) => this.grant(s));
    if (!this.holdSuback) return Promise.resolve(granted());
    return new Promise((resolve, reject) => {
      this.pendingSubacks.push(() => (this.closed ? reject(new Error("closed")) : resolve(granted())));
    });
  }

  /** Sends the SUBACKs held back by `holdSuback`. */
  suback(): void {
    for (const answer of this.pendingSubacks.splice(0)) answer();
  }

  close(): void {
    this.drop("closed by client");
  }

  /** Set by disconnect() (the orderly goodbye). */
  disconnected = false;

  disconnect(_timeoutMs: number): Promise<void> {
    if (!this.closed) this.disconnected = true;
    this.drop("disconnected by client");
    return Promise.resolve();
  }

  /** The broker side ends the connection. */
  drop(reason = "connection reset"): void {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.published) if (!p.acked) p.fail(new Error(reason));
    this.suback(); // pending SUBSCRIBEs reject
    this.events.onClose(reason);
  }

  /** Delivers a message to the device. */
  deliver(topic: string, payload: string | Uint8Array = ""): void {
    this.events.onMessage(topic, typeof payload === "string" ? utf8(payload) : payload);
  }

  /** Published packets whose topic starts with `prefix`. */
  on(prefix: string): PublishedPacket[] {
    return this.published.filter((p) => p.topic.startsWith(prefix));
  }
}

export class FakeConnector implements MqttConnector {
  readonly sessions: FakeSession[] = [];
  attempts: MqttConnectOptions[] = [];
  /** When set, the next attempts fail with this error. */
  refuse: string | undefined;
  /** When true, attempts never complete (a hung TCP connect). */
  hang = false;
  autoAckQos1 = false;
  /** Passed to each new session: SUBACKs wait for `session.suback()`. */
  holdSuback = false;

  connect(options: MqttConnectOptions, events: MqttSessionEvents): Promise<MqttSession> {
    this.attempts.push(options);
    if (this.hang) return new Promise(() => undefined);
    if (this.refuse !== undefined) return Promise.reject(new MqttConnectError(this.refuse, 5));
    const session = new FakeSession(options, events);
    session.autoAckQos1 = this.autoAckQos1;
    session.holdSuback = this.holdSuback;
    this.sessions.push(session);
    return Promise.resolve(session);
  }

  get current(): FakeSession | undefined {
    const last = this.sessions[this.sessions.length - 1];
    return last && !last.closed ? last : undefined;
  }

  get last(): FakeSession {
    const last = this.sessions[this.sessions.length - 1];
    if (!last) throw new Error("no session yet");
    return last;
  }
}
