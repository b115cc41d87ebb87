/**
 * A list of callbacks. A throwing listener is reported through `onError` and never stops
 * the others or the caller: a bug in a UI hook must not take the hub link down.
 */
export class Listeners<T> {
  private readonly list: Array<(value: T) => void> = [];

  constructor(private readonly onError?: (error: unknown) => void) {}

  add(listener: (value: T) => void): () => void {
    this.list.push(listener);
    return () => {
      const i = this.list.indexOf(listener);
      if (i >= 0) this.list.splice(i, 1);
    };
  }

  emit(value: T): void {
    for (const listener of this.list.slice()) {
      try {
        listener(value);
      } catch (error) {
        this.onError?.(error);
      }
    }
  }

  /** Removes every listener (e.g. when the source closes). */
  clear(): void {
    this.list.length = 0;
  }

  get size(): number {
    return this.list.length;
  }
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
