/**
 * Terminal colours: only on a terminal (never into pipes and log files), and never when NO_COLOR is set to
 * anything non-empty (https://no-color.org).
 */
export function colourWanted(stream: { readonly isTTY?: boolean }, env: Readonly<Record<string, string | undefined>>): boolean {
  return stream.isTTY === true && !env["NO_COLOR"];
}

export class Style {
  constructor(readonly enabled: boolean) {}

  /** `text` in SGR colour `code` (e.g. "31" red, "2" dim), or as it is without colours. */
  paint(code: string, text: string): string {
    return this.enabled ? `\x1b[${code}m${text}\x1b[0m` : text;
  }
}
