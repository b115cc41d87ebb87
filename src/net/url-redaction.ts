import type { LogFields, ScopedLogger } from "../ports/logger";

/**
 * A firmware URL carries a SAS token in its query (`?sv=...&sig=...`): whoever reads it can download from the
 * storage account until it expires. No log line, reported property, diagnostics value or `getLog` entry may hold
 * it, so every text that can contain a URL or a request target goes through one of these first.
 */

/** The mark that replaces a dropped query. */
export const REDACTED_QUERY = "?…";

/**
 * The URL (or request target, `/path?query`) without its query and fragment: `https://h/fw.bin?sv=1&sig=x#f`
 * becomes `https://h/fw.bin?…`. A dropped fragment leaves no mark; a URL without either is returned as it is.
 */
export function redactUrl(url: string): string {
  const q = url.indexOf("?");
  const h = url.indexOf("#");
  if (q < 0 && h < 0) return url;
  if (q >= 0 && (h < 0 || q < h)) return url.slice(0, q) + REDACTED_QUERY;
  return url.slice(0, h);
}

/**
 * The text with the query and fragment of every URL or request target in it replaced by `?…`, e.g. the error
 * message `GET https://h/fw.bin?sv=1&sig=x: timed out` becomes `GET https://h/fw.bin?…: timed out`.
 */
export function redactUrlsIn(text: string): string {
  if (text.indexOf("?") < 0 && text.indexOf("#") < 0) return text;
  // A URL or request target (something with a "/"), then a query or fragment up to white space or a quote. A
  // punctuation mark that ends the sentence (`...?sig=x: timed out`, `(...?sig=x)`) is kept; everything else of
  // the query goes. The literal is evaluated per call on purpose: a global RegExp at module level would be
  // preloaded into flash, and replace() writes its lastIndex (a segfault in mcsim, a crash on the ESP32).
  const urlWithQuery = /(\/[^\s?#"'<>`]*)[?#][^\s"'<>`]*?(?=[:;,.)\]]?(?:\s|$)|["'<>`])/g;
  return text.replace(urlWithQuery, (_match, path: string) => path + REDACTED_QUERY);
}

/** The fields with `redactUrlsIn` applied to every string value. */
export function redactFields(fields: LogFields | undefined): LogFields | undefined {
  if (!fields) return fields;
  const out: LogFields = {};
  for (const key of Object.keys(fields)) {
    const value = fields[key];
    out[key] = typeof value === "string" ? redactUrlsIn(value) : value;
  }
  return out;
}

/** A logger that redacts URLs in every message and string field before passing them on. */
export function redactingLogger(inner: ScopedLogger): ScopedLogger {
  return {
    debug: (m, f) => inner.debug(redactUrlsIn(m), redactFields(f)),
    info: (m, f) => inner.info(redactUrlsIn(m), redactFields(f)),
    warn: (m, f) => inner.warn(redactUrlsIn(m), redactFields(f)),
    error: (m, f) => inner.error(redactUrlsIn(m), redactFields(f)),
  };
}
