/** A promise's outcome, observable at any moment (and never an unhandled rejection). */
export interface Outcome<T> {
  done: boolean;
  value?: T;
  error?: unknown;
}

export function settle<T>(promise: Promise<T>): Outcome<T> {
  const outcome: Outcome<T> = { done: false };
  promise.then(
    (value) => Object.assign(outcome, { done: true, value }),
    (error: unknown) => Object.assign(outcome, { done: true, error }),
  );
  return outcome;
}
