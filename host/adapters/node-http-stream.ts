import { request as httpsRequest } from "node:https";
import type { HttpStream, HttpStreamClient, HttpStreamHandlers, HttpStreamRequest } from "../../src/ports/http-stream";
import { HttpsRequestError, lowerCaseHeaders, requestHeaders, requestLabel, tlsRequestOptions } from "./node-https";

/**
 * Streaming GET over node:https, with the same TLS rules as NodeHttpsClient: a fresh connection (no agent), the
 * certificate checked against the given roots and the logical host (also when `route` sends the socket to
 * loopback), TLS 1.2+. `connectTimeoutMs` covers connect, TLS and the response head; the body is delivered chunk by
 * chunk and has no deadline (the caller watches for stalls).
 */
export class NodeHttpStreamClient implements HttpStreamClient {
  get(request: HttpStreamRequest, handlers: HttpStreamHandlers): HttpStream {
    let done = false;
    const headers = requestHeaders(request);
    if (request.rangeStart !== undefined && request.rangeStart > 0) headers["range"] = `bytes=${request.rangeStart}-`;
    const req = httpsRequest(tlsRequestOptions(request, "GET", headers));

    const stop = (): void => {
      done = true;
      clearTimeout(timer);
      req.destroy();
    };
    const fail = (error: Error): void => {
      if (done) return;
      stop();
      handlers.onError(error);
    };
    const timer = setTimeout(
      () => fail(new HttpsRequestError(`no response within ${request.connectTimeoutMs} ms (${requestLabel("GET", request)})`, "ETIMEDOUT")),
      request.connectTimeoutMs,
    );

    req.on("error", (error: NodeJS.ErrnoException) => fail(new HttpsRequestError(`${error.code ? `${error.code}: ` : ""}${error.message}`, error.code)));
    req.on("response", (res) => {
      clearTimeout(timer);
      if (done) return;
      handlers.onResponse(res.statusCode ?? 0, lowerCaseHeaders(res.headers));
      res.on("data", (chunk: Buffer) => {
        if (!done) handlers.onData(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
      });
      res.on("error", (error) => fail(new HttpsRequestError(`response failed: ${error.message}`, "ECONNRESET")));
      res.on("end", () => {
        if (done) return;
        done = true;
        handlers.onEnd();
        req.destroy();
      });
      res.on("close", () => {
        if (!res.complete) fail(new HttpsRequestError("connection closed before the response was complete", "ECONNRESET"));
      });
    });
    req.end();
    return { abort: () => stop() };
  }
}
