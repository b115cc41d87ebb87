import type { LocalHub } from "../../../host/hub/local-hub";
import type { Mosquitto } from "./mosquitto";
import { FaultProxy } from "./fault-proxy";
import { TestPki, type TestDevice } from "./fixture";

/** mosquitto + the hub's service side for one device, reached through a FaultProxy; `device` is the test's. */
export interface FaultyHub {
  readonly pki: TestPki;
  readonly broker: Mosquitto;
  readonly hub: LocalHub;
  readonly proxy: FaultProxy;
  device: TestDevice | undefined;
}

/**
 * Registers before/after hooks in the calling `describe` that start the broker, the hub's service side and a fault
 * proxy in front of the broker, and stop them (and the test's device) afterwards. Read the fields inside tests.
 */
export function useFaultyHub(deviceId: string): FaultyHub {
  const rig = {} as { -readonly [K in keyof FaultyHub]: FaultyHub[K] };
  before(async () => {
    rig.pki = new TestPki();
    ({ broker: rig.broker, hub: rig.hub } = await rig.pki.mosquittoHub(deviceId));
    rig.proxy = await FaultProxy.start(rig.broker.port);
  });
  after(async () => {
    rig.device?.stop();
    await rig.proxy?.close();
    await rig.hub?.stop();
    await rig.broker?.stop();
  });
  return rig;
}
