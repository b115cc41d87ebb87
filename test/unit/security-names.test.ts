import assert from "../support/assert";
import { authModeFromSecurity } from "../../src/wifi/security-names";

describe("SDK security names as WifiAuthMode (scan results on esp32)", () => {
  it("maps the ECMA-419 security strings and the legacy authentication strings", () => {
    const names = ["none", "wep", "wpa_psk", "wpa2_psk", "wpa_wpa2_psk", "wpa2_enterprise", "wpa3_psk", "wpa2_wpa3_psk"];
    assert.deepEqual(
      names.map((n) => authModeFromSecurity(n)),
      ["open", "wep", "wpa-psk", "wpa2-psk", "wpa-wpa2-psk", "wpa2-enterprise", "wpa3-sae", "wpa2-wpa3-psk"],
    );
  });

  it("anything else, or nothing, is unknown", () => {
    for (const n of [undefined, "", "WPA2_PSK", "wapi_psk", "owe"]) assert.equal(authModeFromSecurity(n), "unknown");
  });
});
