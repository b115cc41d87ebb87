import { request as httpsRequest } from "node:https";
import type { HttpStream, HttpStreamClient, HttpStreamHandlers, HttpStreamRequest } from "../../src/ports/http-stream";
import { DEFAULT_MAX_RESPONSE_HEAD_BYTES } from "../../src/net/response-head";
import { HttpsRequestError, lowerCaseHeaders, oversizedHead, requestError, requestHeaders, requestLabel, tlsRequestOptions, type NodeHttpsOptions } from "./node-https";

/**
 * Streaming GET over node:https, with the same TLS rules as NodeHttpsClient: a fresh connection (no agent), the
 * certificate checked against the given roots and the logical host (also when `route` sends the socket to
 * loopback), TLS 1.2+. `connectTimeoutMs` covers connect, TLS and the response head; the body is delivered chunk by
 * chunk and has no deadline (the caller watches for stalls). The response head is bounded (default 8192 bytes: E2BIG).
 */
export class NodeHttpStreamClient implements HttpStreamClient {
  private readonly maxHeadBytes: number;

  constructor(options: NodeHttpsOptions = {}) {
    this.maxHeadBytes = options.maxResponseHeadBytes ?? DEFAULT_MAX_RESPONSE_HEAD_BYTES;
  }

  get(request: HttpStreamRequest, handlers: HttpStreamHandlers): HttpStream {
    const maxHeadBytes = this.maxHeadBytes;
    let done = false;
    const headers = requestHeaders(request);
    if (request.rangeStart !== undefined && request.rangeStart > 0) headers["range"] = `bytes=${request.rangeStart}-`;
    const req = httpsRequest(tlsRequestOptions(request, "GET", headers, maxHeadBytes));

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

    req.on("error", (error: NodeJS.ErrnoException) => fail(requestError(error, maxHeadBytes)));
    req.on("response", (res) => {
      clearTimeout(timer);
      if (done) return;
      const oversized = oversizedHead(res, maxHeadBytes);
      if (oversized) return fail(oversized);
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
