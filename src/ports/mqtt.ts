/**
 * MQTT 3.1.1 client port. The core owns reconnection, retransmission and persistence; the connector only moves
 * packets. One implementation everywhere: src/mqtt over the stream-socket port (node:tls on the host, the SDK's
 * TLS socket on the device).
 */

/**
 * TLS material, passed through the core untouched. The encoding is the adapter's:
 * PEM on the host, DER on the device.
 */
export interface TlsCredentials {
  /** Trusted roots for the server certificate. */
  readonly ca: readonly Uint8Array[];
  /** The device certificate (X.509 client authentication). */
  readonly certificate: Uint8Array;
  /** The device private key. */
  readonly key: Uint8Array;
}

export type QoS = 0 | 1;

export interface MqttConnectOptions {
  readonly host: string;
  readonly port: number;
  /** Name checked against the server certificate; defaults to `host`. */
  readonly serverName?: string;
  readonly clientId: string;
  readonly username: string;
  readonly password?: string;
  readonly cleanSession: boolean;
  readonly keepAliveSeconds: number;
  readonly tls: TlsCredentials;
}

export interface MqttSessionEvents {
  /** An application message arrived (incoming QoS 1 is acknowledged by the adapter). */
  onMessage(topic: string, payload: Uint8Array): void;
  /** The connection ended, for whatever reason. Called once; pending operations reject. */
  onClose(reason: string): void;
}

export interface MqttSubscription {
  readonly topic: string;
  readonly qos: QoS;
}

export interface MqttSession {
  /** QoS 0 resolves once handed to the transport; QoS 1 resolves on PUBACK. Rejects if the session closes first. */
  publish(topic: string, payload: Uint8Array, qos: QoS): Promise<void>;
  /**
   * QoS 1 without a promise per message, for many messages in flight (telemetry): `done(tag)` on PUBACK,
   * `done(tag, error)` when it fails or the session closes first; called once, never from within this call. What the
   * session keeps per message is `tag` and `done`, where a promise, its resolving functions and a continuation cost
   * several times that on a device (see HubClient). Optional: without it, `publish` serves.
   */
  publishTagged?(topic: string, payload: Uint8Array, tag: number, done: (tag: number, error?: Error) => void): void;
  /** Resolves with the granted QoS per topic (128 = refused) on SUBACK. */
  subscribe(subscriptions: readonly MqttSubscription[]): Promise<number[]>;
  /** Closes the connection (with DISCONNECT when it is open); `onClose` follows. Idempotent. */
  close(): void;
  /**
   * The orderly goodbye: closes as `close()` does (DISCONNECT, then the transport is closed) and resolves once the
   * transport has finished — what was queued, the DISCONNECT included, is out and the connection closed — or after
   * `timeoutMs`, whichever comes first. Resolves at once when the session is already closed; never rejects.
   * Optional: for a session without it (a test double), the goodbye is `close()`.
   */
  disconnect?(timeoutMs: number): Promise<void>;
}

/** Why a connection attempt failed; `returnCode` is the CONNACK code when the broker refused. */
export class MqttConnectError extends Error {
  override readonly name = "MqttConnectError";
  constructor(
    message: string,
    readonly returnCode?: number,
  ) {
    super(message);
  }
}

export interface MqttConnector {
  /** Opens TCP+TLS and sends CONNECT; resolves on an accepted CONNACK. */
  connect(options: MqttConnectOptions, events: MqttSessionEvents): Promise<MqttSession>;
}
