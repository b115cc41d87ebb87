import { Listeners } from "../../src/core/listeners";
import type { DeviceProfile } from "../../src/device/profile";
import type { GESTURES } from "../../src/device/schema";
import type { HostDevice } from "../device/host-device";
import type { ConsoleBackend, ConsoleHub, DeviceView } from "./console-api";
import type { LedMirror } from "./led-mirror";

/**
 * The console's view of a simulated device that may restart (a new HostDevice per boot: `attach` each one)
 * and of its local hub. Events from the device, its LEDs and the hub are passed on as console events.
 */
export class DeviceConsoleBackend implements ConsoleBackend {
  private device: HostDevice | undefined;
  private detach: (() => void)[] = [];
  private readonly events = new Listeners<{ name: string; data: unknown }>();
  private readonly hubOff: (() => void)[] = [];

  constructor(
    private readonly profile: DeviceProfile,
    private readonly leds: LedMirror,
    readonly hub: ConsoleHub | undefined,
    readonly release: (() => Promise<{ version: string; size: number }>) | undefined,
  ) {
    leds.onChange((change) => this.emit("led", change));
    if (hub) {
      this.hubOff.push(hub.onTelemetry((t) => this.emit("telemetry", t)));
      this.hubOff.push(hub.onReported((reported) => this.emit("reported", reported)));
      this.hubOff.push(hub.onDesired((desired) => this.emit("desired", desired)));
    }
  }

  /** Follows the device of this boot. */
  attach(device: HostDevice): void {
    for (const off of this.detach.splice(0)) off();
    this.device = device;
    const changed = (): void => this.emit("device", this.view());
    this.detach.push(device.boot.onStatus(changed), device.hub.onStatus(changed));
    if (device.ota) this.detach.push(device.ota.onStatus(changed));
    changed();
  }

  view(): DeviceView {
    const d = this.device;
    const boot = d?.boot.status;
    return {
      deviceId: d?.deviceId ?? "",
      profile: this.profile,
      phase: boot?.phase ?? "off",
      hub: boot?.hub,
      link: d?.hub.status.state ?? "stopped",
      firmware: d?.ota?.status,
      leds: this.leds.state,
    };
  }

  press(button: number, gesture: (typeof GESTURES)[number]): string {
    const box = this.device?.box;
    if (!box) throw new RangeError("this device has no buttons");
    return box.press(button, gesture).id;
  }

  onEvent(listener: (name: string, data: unknown) => void): () => void {
    return this.events.add((e) => listener(e.name, e.data));
  }

  close(): void {
    for (const off of [...this.detach.splice(0), ...this.hubOff.splice(0)]) off();
  }

  private emit(name: string, data: unknown): void {
    this.events.emit({ name, data });
  }
}
