import type { HttpsClient, HttpsRequest, HttpsResponse } from "../../src/ports/https";
import { utf8 } from "../../src/core/bytes";

/** What the fake does with one request: answer, fail, or never settle. */
export type FakeReply = HttpsResponse | Error | "hang" | ((request: HttpsRequest) => HttpsResponse | Error | "hang");

/**
 * An in-memory HttpsClient for unit tests of the core (integration tests use a real HTTPS server).
 * Replies are queued per test; each request takes the next one, or `fallback` when the queue is empty.
 */
export class FakeHttps implements HttpsClient {
  readonly requests: HttpsRequest[] = [];
  private readonly queue: FakeReply[] = [];

  constructor(private fallback: FakeReply = new Error("FakeHttps: no reply queued")) {}

  /** Queues replies for the next requests, in order. */
  reply(...replies: FakeReply[]): this {
    this.queue.push(...replies);
    return this;
  }

  /** The reply used once the queue is empty. */
  always(reply: FakeReply): this {
    this.fallback = reply;
    return this;
  }

  request(request: HttpsRequest): Promise<HttpsResponse> {
    this.requests.push(request);
    let reply = this.queue.length > 0 ? this.queue.shift()! : this.fallback;
    if (typeof reply === "function") reply = reply(request);
    if (reply === "hang") return new Promise<HttpsResponse>(() => undefined);
    if (reply instanceof Error) return Promise.reject(reply);
    return Promise.resolve(reply);
  }
}

/** A response with a text body (JSON Content-Type unless headers say otherwise). */
export function textResponse(status: number, body: string, headers: Record<string, string> = { "content-type": "application/json" }): HttpsResponse {
  return { status, headers, body: utf8(body) };
}

export function jsonResponse(status: number, value: unknown, headers?: Record<string, string>): HttpsResponse {
  return textResponse(status, JSON.stringify(value), headers);
}
