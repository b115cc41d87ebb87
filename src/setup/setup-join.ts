import type { Clock } from "../ports/clock";
import type { WifiRadio } from "../ports/wifi";

/** What one join attempt from the setup page came to. */
export type JoinOutcome =
  | { readonly result: "joined"; readonly ip: string }
  | { readonly result: "wrong-passphrase"; readonly detail: string }
  | { readonly result: "not-found"; readonly detail: string }
  | { readonly result: "failed"; readonly detail: string };

/**
 * The radio's disconnect reason as a setup result. Called only after a scan showed the network, so a failed
 * association means the access point turned the passphrase down (the ESP32's ECMA-419 driver cannot tell the two
 * apart and says "association or authentication failed (…)"; the host simulation says "authentication failed").
 */
export function classifyJoinFailure(reason: string): JoinOutcome {
  if (/auth|passphrase|password|handshake|4-way/i.test(reason)) return { result: "wrong-passphrase", detail: reason };
  if (/no access point|not found|no ap/i.test(reason)) return { result: "not-found", detail: reason };
  return { result: "failed", detail: reason };
}

/**
 * One attempt to join `ssid` with the station interface: resolves at the first IP address, at a disconnect, or
 * after `timeoutMs` (then the radio is told to disconnect). A failed attempt leaves the radio disconnected; a
 * successful one leaves it joined. Never rejects.
 */
export function joinOnce(radio: WifiRadio, clock: Clock, ssid: string, passphrase: string | undefined, timeoutMs: number): Promise<JoinOutcome> {
  return new Promise<JoinOutcome>((resolve) => {
    let done = false;
    const finish = (outcome: JoinOutcome) => {
      if (done) return;
      done = true;
      clock.clearTimeout(timer);
      if (outcome.result !== "joined") {
        try {
          radio.disconnect();
        } catch {
          // a radio that cannot even disconnect leaves nothing to undo
        }
      }
      resolve(outcome);
    };
    const timer = clock.setTimeout(() => finish({ result: "failed", detail: `no IP address within ${Math.round(timeoutMs / 1000)} s` }), timeoutMs);
    try {
      radio.connect(ssid, passphrase, (event) => {
        if (event.type === "got-ip") finish({ result: "joined", ip: event.ip });
        else if (event.type === "disconnected") finish(classifyJoinFailure(event.reason));
        else if (event.type === "lost-ip") finish({ result: "failed", detail: "lost the IP address" });
      });
    } catch (error) {
      finish({ result: "failed", detail: `connect failed: ${error instanceof Error ? error.message : String(error)}` });
    }
  });
}
