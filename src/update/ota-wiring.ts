import type { DesiredUpdate } from "../azure/twin";
import type { MethodHandler } from "../azure/direct-methods";
import { OtaManager, cancelUpdateHandler, startUpdateHandler } from "./ota-manager";

/** The parts of HubClient the update needs (HubClient satisfies it). */
export interface OtaHub {
  readonly twin: { onDesired(listener: (update: DesiredUpdate) => void): () => void };
  readonly methods: { register(name: string, handler: MethodHandler): void };
  onStatus(listener: (status: { readonly state: string }) => void): () => void;
}

/**
 * Connects an OtaManager to the hub: the desired `firmware` property starts updates, every (re)connect reports the
 * running version (and confirms a pending image once the hub has accepted that report), and the direct methods
 * `startUpdate` / `cancelUpdate` are registered. Call `ota.boot()` before the hub starts. Returns a detach function
 * (the methods stay registered).
 */
export function attachOta(ota: OtaManager, hub: OtaHub): () => void {
  const offDesired = hub.twin.onDesired((update) => ota.onDesired(update));
  hub.methods.register("startUpdate", startUpdateHandler(ota));
  hub.methods.register("cancelUpdate", cancelUpdateHandler(ota));
  const offStatus = hub.onStatus((status) => {
    if (status.state === "connected") ota.hubConnected();
  });
  return () => {
    offDesired();
    offStatus();
  };
}
