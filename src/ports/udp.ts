/** UDP datagrams (SNTP). Host names are resolved by the adapter (DNS is the platform's job). */
export interface DatagramSource {
  readonly address: string;
  readonly port: number;
}

export interface DatagramHandlers {
  onMessage(data: Uint8Array, from: DatagramSource): void;
}

export interface DatagramSocket {
  /** Sends one datagram; rejects when the name does not resolve or the send fails. */
  send(host: string, port: number, data: Uint8Array): Promise<void>;
  close(): void;
}

export interface DatagramPort {
  open(handlers: DatagramHandlers): DatagramSocket;
}
