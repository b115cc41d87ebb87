import type { DatagramHandlers, DatagramPort, DatagramSocket } from "../ports/udp";
import type { HttpsClient, HttpsRequest, HttpsResponse } from "../ports/https";
import type { MqttConnectOptions, MqttConnector, MqttSession, MqttSessionEvents } from "../ports/mqtt";
import type { EgressPolicy, Transport } from "./egress-policy";

/** Where a logical endpoint is really reached (a local run maps the cloud's names to loopback). */
export interface Route {
  readonly address: string;
  readonly port: number;
}

export interface RouteMap {
  route(host: string, port: number, transport: Transport): Route | undefined;
}

/** Routes from "host:port" keys; the device uses none. */
export class StaticRoutes implements RouteMap {
  private readonly map = new Map<string, Route>();

  set(host: string, port: number, transport: Transport, route: Route): this {
    this.map.set(`${transport}:${host.toLowerCase()}:${port}`, route);
    return this;
  }

  route(host: string, port: number, transport: Transport): Route | undefined {
    return this.map.get(`${transport}:${host.toLowerCase()}:${port}`);
  }
}

export class ClockNotValidError extends Error {
  override readonly name = "ClockNotValidError";
  constructor(host: string) {
    super(`refusing TLS to ${host} while the clock is not valid (certificate dates cannot be checked)`);
  }
}

export interface NetworkGuard {
  readonly policy: EgressPolicy;
  readonly routes?: RouteMap;
  /** True once SNTP (or the host) has set the clock. */
  readonly clockValid: () => boolean;
}

/**
 * The firmware's only ways out: each connection is checked against the egress table (by its logical
 * name and port, before any routing), TLS waits for a valid clock, and only then is it routed.
 */
export class GuardedMqttConnector implements MqttConnector {
  constructor(
    private readonly inner: MqttConnector,
    private readonly guard: NetworkGuard,
  ) {}

  connect(options: MqttConnectOptions, events: MqttSessionEvents): Promise<MqttSession> {
    const name = options.serverName ?? options.host;
    try {
      this.guard.policy.check(name, options.port, "tcp");
      if (!this.guard.clockValid()) throw new ClockNotValidError(name);
    } catch (error) {
      return Promise.reject(error);
    }
    const route = this.guard.routes?.route(name, options.port, "tcp");
    return this.inner.connect(route ? { ...options, host: route.address, port: route.port, serverName: name } : options, events);
  }
}

export class GuardedHttpsClient implements HttpsClient {
  constructor(
    private readonly inner: HttpsClient,
    private readonly guard: NetworkGuard,
  ) {}

  request(request: HttpsRequest): Promise<HttpsResponse> {
    try {
      this.guard.policy.check(request.host, request.port, "tcp");
      if (!this.guard.clockValid()) throw new ClockNotValidError(request.host);
    } catch (error) {
      return Promise.reject(error);
    }
    const route = this.guard.routes?.route(request.host, request.port, "tcp");
    return this.inner.request(route ? { ...request, route } : request);
  }
}

export class GuardedDatagramPort implements DatagramPort {
  constructor(
    private readonly inner: DatagramPort,
    private readonly guard: NetworkGuard,
  ) {}

  open(handlers: DatagramHandlers): DatagramSocket {
    const socket = this.inner.open(handlers);
    return {
      send: (host, port, data) => {
        try {
          this.guard.policy.check(host, port, "udp");
        } catch (error) {
          return Promise.reject(error);
        }
        const route = this.guard.routes?.route(host, port, "udp");
        return route ? socket.send(route.address, route.port, data) : socket.send(host, port, data);
      },
      close: () => socket.close(),
    };
  }
}
