/**
 * The bound on an HTTP response head (status line and header fields) that every HTTPS adapter applies, so that a
 * server (or whoever holds a forged certificate) cannot make the device buffer headers until its heap runs out.
 */

/** Status line + all header lines, each with its CRLF, + the empty line that ends the head. */
export const DEFAULT_MAX_RESPONSE_HEAD_BYTES = 8192;

/** The head on the wire: `status line CRLF`, then `name: value CRLF` per field, then `CRLF` (UTF-16 units, ~bytes). */
export function responseHeadBytes(statusLine: string, headers: Iterable<readonly [string, string]>): number {
  let n = statusLine.length + 2;
  for (const [name, value] of headers) n += name.length + 2 + value.length + 2;
  return n + 2;
}

export function responseHeadTooLarge(maxBytes: number): string {
  return `response head (status line and headers) exceeds ${maxBytes} bytes`;
}

/**
 * Counts the bytes of one response head as they arrive and says when they go over the bound. Once over, it stays
 * over; once the head has ended (`end()`), further bytes are body and are not counted.
 */
export class ResponseHeadLimit {
  private count = 0;
  private ended = false;

  constructor(readonly maxBytes: number = DEFAULT_MAX_RESPONSE_HEAD_BYTES) {
    if (!Number.isInteger(maxBytes) || maxBytes < 16) throw new RangeError(`a response head limit must be an integer >= 16, not ${maxBytes}`);
  }

  /** Counts `n` more bytes of the head; false when the head is now over the bound (the request must be aborted). */
  add(n: number): boolean {
    if (!this.ended) this.count += n;
    return this.count <= this.maxBytes;
  }

  /** Checks a whole head as an HTTP client hands it over (status line and fields); false when over the bound. */
  check(statusLine: string, headers: Iterable<readonly [string, string]>): boolean {
    const n = responseHeadBytes(statusLine, headers);
    if (n > this.count) this.count = n;
    return this.count <= this.maxBytes;
  }

  /** The head is complete: what follows is body. */
  end(): void {
    this.ended = true;
  }

  get bytes(): number {
    return this.count;
  }

  get exceeded(): boolean {
    return this.count > this.maxBytes;
  }

  get complete(): boolean {
    return this.ended;
  }

  /** The error text for a head over the bound. */
  get message(): string {
    return responseHeadTooLarge(this.maxBytes);
  }
}
