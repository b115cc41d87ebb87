// TextEncoder/TextDecoder are not part of the ES lib but exist on Node, XS and Moddable.
// Declared here (and only these) so the portable core can use them without DOM types.
declare class TextEncoder {
  encode(input?: string): Uint8Array;
}
declare class TextDecoder {
  constructor(label?: string, options?: { fatal?: boolean });
  decode(input?: Uint8Array | ArrayBuffer): string;
}
