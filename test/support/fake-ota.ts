import type { CryptoPort, Sha256 } from "../../src/ports/crypto";
import type { HttpStream, HttpStreamClient, HttpStreamHandlers, HttpStreamRequest } from "../../src/ports/http-stream";
import type { BootState, ImageInfo, RollbackRecord, SlotInfo, UpdateSession, UpdateWriter } from "../../src/ports/update-writer";
import { PureSha256, sha256 } from "./sha256";
import { concatBytes } from "../../src/core/bytes";

/** One GET the fake received; the test plays the server through it. */
export class FakeExchange {
  aborted = false;
  constructor(
    readonly request: HttpStreamRequest,
    private readonly handlers: HttpStreamHandlers,
  ) {}
  respond(status: number, headers: Record<string, string> = {}): this {
    if (!this.aborted) this.handlers.onResponse(status, headers);
    return this;
  }
  data(bytes: Uint8Array): this {
    if (!this.aborted) this.handlers.onData(bytes);
    return this;
  }
  /** Sends bytes in pieces of `piece`. */
  stream(bytes: Uint8Array, piece = 1000): this {
    for (let i = 0; i < bytes.length && !this.aborted; i += piece) this.handlers.onData(bytes.subarray(i, Math.min(bytes.length, i + piece)));
    return this;
  }
  end(): this {
    if (!this.aborted) this.handlers.onEnd();
    return this;
  }
  error(message = "ECONNRESET: socket hang up"): this {
    if (!this.aborted) this.handlers.onError(new Error(message));
    return this;
  }
}

export class FakeHttpStream implements HttpStreamClient {
  readonly exchanges: FakeExchange[] = [];
  get(request: HttpStreamRequest, handlers: HttpStreamHandlers): HttpStream {
    const exchange = new FakeExchange(request, handlers);
    this.exchanges.push(exchange);
    return { abort: () => (exchange.aborted = true) };
  }
  get last(): FakeExchange {
    const e = this.exchanges[this.exchanges.length - 1];
    if (!e) throw new Error("FakeHttpStream: no request yet");
    return e;
  }
}

/**
 * Real SHA-256 (pure TypeScript, so it runs in XS) and a stand-in signature scheme: the "signature" of a message
 * under a key is SHA-256(key || message). Good enough to test that the core checks what it should.
 */
export class FakeCrypto implements CryptoPort {
  verifications = 0;
  sha256(): Sha256 {
    return new PureSha256();
  }
  verifyP256(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
    this.verifications++;
    const expected = fakeSign(publicKey, message);
    if (signature.length !== expected.length) return false;
    for (let i = 0; i < expected.length; i++) if (signature[i] !== expected[i]) return false;
    return true;
  }
}

export function fakeSign(publicKey: Uint8Array, message: Uint8Array): Uint8Array {
  return sha256(concatBytes([publicKey, message]));
}

interface Slot {
  version: string;
  image?: Uint8Array;
  sha256?: string;
}

/** An A/B flash in memory with a boot record, counting what the core did to it. */
export class MemoryUpdateWriter implements UpdateWriter {
  readonly slot: Record<"a" | "b", Slot>;
  boot: "a" | "b" = "a";
  pending: { previous: "a" | "b"; bootCount: number } | undefined;
  rollbackRecord: RollbackRecord | undefined;
  written: Uint8Array[] = [];
  begun = 0;
  cancelled = 0;
  completed = 0;
  markedValid = 0;
  rollbacks: string[] = [];
  failWriteAt: number | undefined;
  onRollback: () => void = () => undefined;

  constructor(
    running: string,
    readonly slotSize = 1 << 20,
  ) {
    this.slot = { a: { version: running }, b: { version: "0.0.0" } };
  }

  private get other(): "a" | "b" {
    return this.boot === "a" ? "b" : "a";
  }

  slots(): SlotInfo {
    return { runningVersion: this.slot[this.boot].version, runningSlot: this.boot, nextSlot: this.other, nextSlotSize: this.slotSize };
  }

  begin(image: ImageInfo): UpdateSession {
    if (image.size > this.slotSize) throw new RangeError("image does not fit");
    this.begun++;
    const target = this.other;
    const chunks: Uint8Array[] = [];
    this.written = chunks;
    let written = 0;
    let open = true;
    return {
      get written() {
        return written;
      },
      write: (chunk) => {
        if (!open) throw new Error("session closed");
        if (this.failWriteAt !== undefined && written + chunk.length > this.failWriteAt) throw new Error("flash write error at 0x1000");
        if (written + chunk.length > image.size) throw new RangeError("more bytes than announced");
        chunks.push(chunk.slice());
        written += chunk.length;
      },
      complete: () => {
        if (!open) throw new Error("session closed");
        if (written !== image.size) throw new Error("image incomplete");
        open = false;
        const bytes = concatBytes(chunks);
        this.slot[target] = { version: image.version, image: bytes, sha256: image.sha256 };
        this.pending = { previous: this.boot, bootCount: 0 };
        this.boot = target;
        this.completed++;
      },
      cancel: () => {
        if (!open) return;
        open = false;
        this.cancelled++;
      },
    };
  }

  /** What the bootloader does at power-on: counts boots of a pending image. Returns the running version. */
  powerOn(): string {
    if (this.pending) this.pending.bootCount++;
    return this.slot[this.boot].version;
  }

  bootState(): BootState {
    return {
      pendingVerification: this.pending !== undefined,
      pendingBootCount: this.pending?.bootCount ?? 0,
      ...(this.pending ? { previousVersion: this.slot[this.pending.previous].version } : {}),
      ...(this.rollbackRecord ? { rollback: this.rollbackRecord } : {}),
    };
  }

  markValid(): void {
    this.pending = undefined;
    this.markedValid++;
  }

  markInvalidAndRollback(reason: string): void {
    if (!this.pending) throw new Error("nothing pending");
    const failed = this.slot[this.boot];
    this.rollbackRecord = { version: failed.version, reason, ...(failed.sha256 ? { sha256: failed.sha256 } : {}) };
    this.boot = this.pending.previous;
    this.pending = undefined;
    this.rollbacks.push(reason);
    this.onRollback();
  }

  clearRollback(): void {
    this.rollbackRecord = undefined;
  }
}

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** Standard base64 with padding (XS has no btoa). */
export function encodeBase64(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    out += B64[(n >> 18) & 63]! + B64[(n >> 12) & 63]! + (i + 1 < bytes.length ? B64[(n >> 6) & 63]! : "=") + (i + 2 < bytes.length ? B64[n & 63]! : "=");
  }
  return out;
}

/** Deterministic test image bytes. */
export function testImage(size: number, seed = 1): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}
