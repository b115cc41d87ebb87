import { FaultProxy, FaultUdpProxy } from "../integration/support/fault-proxy";

/**
 * The bench's network: every peer is reached through a user-space delay proxy (the fault proxy's latency mode)
 * that delays each direction by RTT / 2 and charges each new TCP connection its handshake round trip.
 */
export class DelayLink {
  private readonly proxies: Array<FaultProxy | FaultUdpProxy> = [];

  constructor(readonly rttMs: number) {}

  get oneWayMs(): number {
    return this.rttMs / 2;
  }

  async tcp(targetPort: number): Promise<FaultProxy> {
    const proxy = (await FaultProxy.start(targetPort)).setLatency(this.oneWayMs).emulateHandshake(true);
    this.proxies.push(proxy);
    return proxy;
  }

  async udp(targetPort: number): Promise<FaultUdpProxy> {
    const proxy = (await FaultUdpProxy.start(targetPort)).setLatency(this.oneWayMs);
    this.proxies.push(proxy);
    return proxy;
  }

  async close(): Promise<void> {
    for (const p of this.proxies.splice(0)) await p.close();
  }
}

/** The next connection `proxy` accepts (its time, Date.now()). */
export function nextAccept(proxy: FaultProxy): Promise<number> {
  return new Promise((resolve) => {
    const off = proxy.onAccept((at) => {
      off();
      resolve(at);
    });
  });
}
