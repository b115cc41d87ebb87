import { PropertyBagError, decodePropertyBag, splitSystemProperties } from "./property-bag";

/** A cloud-to-device message as the device sees it. */
export interface CloudMessage {
  readonly messageId: string | undefined;
  readonly correlationId: string | undefined;
  readonly contentType: string | undefined;
  /** System properties (`$.mid`, `$.to`, `$.ct` ...), decoded. */
  readonly system: Readonly<Record<string, string>>;
  /** Application properties, decoded. */
  readonly properties: Readonly<Record<string, string>>;
  readonly payload: Uint8Array;
}

/** Decodes the property bag of a cloud-to-device topic tail; throws PropertyBagError when malformed. */
export function decodeCloudMessage(bag: string, payload: Uint8Array): CloudMessage {
  const { system, application } = splitSystemProperties(decodePropertyBag(bag));
  // Some hubs prefix non-$ system properties with iothub-; they stay application-visible.
  return {
    messageId: system["$.mid"],
    correlationId: system["$.cid"],
    contentType: system["$.ct"],
    system,
    properties: application,
    payload,
  };
}

export { PropertyBagError };
