import type { HostDevice } from "../device/host-device";

/**
 * The simulated board across restarts: when the firmware restarts the device (after an update, a rollback, or
 * the reboot command), the running firmware is stopped and a new one is built from the same state folder and
 * started, as a power cycle would boot the board again.
 */
export class RebootingDevice {
  private device: HostDevice | undefined;
  private restarting = false;
  private stopped = false;

  /**
   * `build` makes a device from the state folder (`restarted`: after a restart, not a power-on), calling
   * `onRestart` when it restarts; `onBoot` sees each
   * device before it starts (`restarted`: not the first boot).
   */
  constructor(
    private readonly build: (onRestart: () => void, restarted: boolean) => HostDevice,
    private readonly onBoot: (device: HostDevice, restarted: boolean) => void,
  ) {}

  /** The device running now. */
  get current(): HostDevice {
    if (!this.device) throw new Error("the device has not been started");
    return this.device;
  }

  start(): void {
    this.power(false);
  }

  stop(): void {
    this.stopped = true;
    this.device?.stop();
  }

  /** The orderly end: no more restarts; the running firmware says goodbye to the hub and stops (Firmware.shutdown). */
  async shutdown(): Promise<void> {
    this.stopped = true;
    await this.device?.shutdown();
  }

  private power(restarted: boolean): void {
    const device = this.build(() => this.restart(), restarted);
    this.device = device;
    this.onBoot(device, restarted);
    device.start();
  }

  private restart(): void {
    if (this.restarting || this.stopped) return;
    this.restarting = true;
    // The firmware asks from inside its own call stack: stop it only after that call has returned.
    setTimeout(() => {
      this.restarting = false;
      if (this.stopped) return;
      this.device?.stop();
      this.power(true);
    }, 10);
  }
}
