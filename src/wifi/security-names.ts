import type { WifiAuthMode } from "../ports/wifi";

/**
 * The security names the Moddable SDK reports in scan results, as WifiAuthMode: the ECMA-419 Wi-Fi interface's
 * `security` and the legacy `wifi` module's `authentication` (which knows only none, wep, wpa_psk, wpa2_psk and
 * wpa_wpa2_psk). Shared by the station adapter and the setup access point on esp32; anything else is "unknown",
 * which the station policy never joins.
 */
export function authModeFromSecurity(security: string | undefined): WifiAuthMode {
  switch (security) {
    case "none":
      return "open";
    case "wep":
      return "wep";
    case "wpa_psk":
      return "wpa-psk";
    case "wpa2_psk":
      return "wpa2-psk";
    case "wpa_wpa2_psk":
      return "wpa-wpa2-psk";
    case "wpa2_enterprise":
      return "wpa2-enterprise";
    case "wpa3_psk":
      return "wpa3-sae";
    case "wpa2_wpa3_psk":
      return "wpa2-wpa3-psk";
    default:
      return "unknown";
  }
}
