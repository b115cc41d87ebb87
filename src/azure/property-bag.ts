/**
 * The URL-encoded property bag that IoT Hub carries in MQTT topic names
 * (`key=value&key=value`, UTF-8, percent-encoded per RFC 3986).
 */

export class PropertyBagError extends Error {
  override readonly name = "PropertyBagError";
  constructor(message: string) {
    super(message);
  }
}

/** System property keys (`$.mid`, `$.ct` ...) stay literal, as in Microsoft's documentation. */
// Made at run time, once: XS would preload a module-level RegExp into flash, where exec crashes (mcsim segfault).
let systemKeyPattern: RegExp | undefined;
const systemKeyRe = (): RegExp => (systemKeyPattern ??= /^\$\.[a-z]+$/);

function encodePart(text: string, what: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    throw new PropertyBagError(`${what} is not valid Unicode (lone surrogate): ${JSON.stringify(text)}`);
  }
}

function decodePart(text: string, what: string): string {
  let decoded: string;
  try {
    decoded = decodeURIComponent(text);
  } catch {
    throw new PropertyBagError(`malformed percent-encoding in ${what}: ${JSON.stringify(text)}`);
  }
  // XS decodes percent-encoded surrogates (%ED%A0%80) that other engines refuse; a lone one would make
  // encodeURIComponent throw later (e.g. echoing a $rid), so refuse it here on every engine.
  if (/[\ud800-\udfff]/.test(decoded.replace(/[\ud800-\udbff][\udc00-\udfff]/g, ""))) {
    throw new PropertyBagError(`percent-encoded surrogate in ${what}: ${JSON.stringify(text)}`);
  }
  return decoded;
}

/** Encodes properties in insertion order. Empty keys are refused. */
export function encodePropertyBag(properties: Readonly<Record<string, string>>): string {
  const parts: string[] = [];
  for (const key of Object.keys(properties)) {
    if (key.length === 0) throw new PropertyBagError("property key is empty");
    const value = properties[key];
    if (typeof value !== "string") throw new PropertyBagError(`property ${JSON.stringify(key)} must be a string`);
    const k = systemKeyRe().test(key) ? key : encodePart(key, "property key");
    parts.push(`${k}=${encodePart(value, `value of ${key}`)}`);
  }
  return parts.join("&");
}

/**
 * Decodes a bag. Accepts `$` literal or as `%24`, a key without `=` (value ""), and empty
 * segments; throws PropertyBagError on malformed percent-encoding. `+` is a literal plus.
 */
export function decodePropertyBag(bag: string): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  if (bag.length === 0) return out;
  for (const segment of bag.split("&")) {
    if (segment.length === 0) continue;
    const eq = segment.indexOf("=");
    const rawKey = eq < 0 ? segment : segment.slice(0, eq);
    const rawValue = eq < 0 ? "" : segment.slice(eq + 1);
    const key = decodePart(rawKey, "property key");
    if (key.length === 0) throw new PropertyBagError(`property with an empty key in ${JSON.stringify(bag)}`);
    out[key] = decodePart(rawValue, `value of ${key}`);
  }
  return out;
}

/** Splits decoded properties into system (`$.x`) and application ones. */
export function splitSystemProperties(properties: Readonly<Record<string, string>>): {
  system: Record<string, string>;
  application: Record<string, string>;
} {
  const system: Record<string, string> = {};
  const application: Record<string, string> = {};
  for (const key of Object.keys(properties)) {
    if (key.startsWith("$.")) system[key] = properties[key]!;
    else application[key] = properties[key]!;
  }
  return { system, application };
}
