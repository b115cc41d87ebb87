import { sleep } from "./processes";

/** What became of the events a run sent, counted from what the hub recorded. */
export interface DeliveryFigures {
  /** Distinct events sent. */
  readonly sent: number;
  /** Arrivals of those events at the hub, duplicates included. */
  readonly received: number;
  /** Distinct events that arrived. */
  readonly unique: number;
  /** Arrivals beyond the first of an event. */
  readonly duplicates: number;
  /** Events that never arrived. */
  readonly lost: number;
  /** The events that never arrived (their ids, in send order). */
  readonly missing: readonly string[];
}

/** Counts `sent` (event ids) against `recorded` (the message id of every arrival the hub recorded, in order). */
export function deliveryFigures(sent: readonly string[], recorded: readonly (string | undefined)[]): DeliveryFigures {
  const wanted = new Set(sent);
  const arrivals = recorded.filter((id): id is string => id !== undefined && wanted.has(id));
  const arrived = new Set(arrivals);
  const missing = [...wanted].filter((id) => !arrived.has(id));
  return { sent: wanted.size, received: arrivals.length, unique: arrived.size, duplicates: arrivals.length - arrived.size, lost: missing.length, missing };
}

/** `events sent N / received M / duplicates D / lost L` */
export function figuresLine(f: DeliveryFigures): string {
  return `events sent ${f.sent} / received ${f.received} / duplicates ${f.duplicates} / lost ${f.lost}`;
}

export interface AwaitDelivery {
  /** Printed before the figures (e.g. the run's name). */
  readonly label?: string;
  /** The ids of the events the run sent. */
  readonly sent: readonly string[];
  /** The hub's record: the message id of every arrival, in order (read afresh at every check). */
  readonly recorded: () => readonly (string | undefined)[];
  /** How long to wait for the last event. */
  readonly timeoutMs: number;
  /** Appended to the printed line (e.g. the link's connections). */
  readonly note?: () => string;
}

/**
 * The end of a delivery run: waits until every sent event is in the hub's record or the time is up, then — in
 * both cases — computes the figures from the hub's record, prints them, and returns them. The caller asserts
 * `lost === 0`; a run that timed out fails there, after its figures were printed.
 */
export async function awaitDelivery(options: AwaitDelivery): Promise<DeliveryFigures> {
  const deadline = Date.now() + options.timeoutMs;
  let figures = deliveryFigures(options.sent, options.recorded());
  while (figures.lost > 0 && Date.now() < deadline) {
    await sleep(50);
    figures = deliveryFigures(options.sent, options.recorded());
  }
  const timedOut = figures.lost > 0 ? ` — timed out after ${options.timeoutMs} ms` : "";
  const sample = figures.lost > 0 ? `; missing e.g. ${figures.missing.slice(0, 5).join(", ")}` : "";
  process.stdout.write(`      ${options.label ? `${options.label}: ` : ""}${figuresLine(figures)}${options.note?.() ?? ""}${timedOut}${sample}\n`);
  return figures;
}
