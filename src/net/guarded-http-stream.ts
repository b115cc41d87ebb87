import type { HttpStream, HttpStreamClient, HttpStreamHandlers, HttpStreamRequest } from "../ports/http-stream";
import { ClockNotValidError, type NetworkGuard } from "./guarded-network";

/** The streaming GET through the same guard as every other connection: egress table, valid clock, then routing. */
export class GuardedHttpStreamClient implements HttpStreamClient {
  constructor(
    private readonly inner: HttpStreamClient,
    private readonly guard: NetworkGuard,
  ) {}

  get(request: HttpStreamRequest, handlers: HttpStreamHandlers): HttpStream {
    let refused: Error | undefined;
    try {
      this.guard.policy.check(request.host, request.port, "tcp");
      if (!this.guard.clockValid()) throw new ClockNotValidError(request.host);
    } catch (error) {
      refused = error instanceof Error ? error : new Error(String(error));
    }
    if (refused) {
      // Asynchronously, as the port promises.
      let aborted = false;
      const error = refused;
      void Promise.resolve().then(() => !aborted && handlers.onError(error));
      return { abort: () => (aborted = true) };
    }
    const route = this.guard.routes?.route(request.host, request.port, "tcp");
    return this.inner.get(route ? { ...request, route } : request, handlers);
  }
}
