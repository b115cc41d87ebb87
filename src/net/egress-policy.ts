import type { ScopedLogger } from "../ports/logger";
import { Listeners } from "../core/listeners";

export type Transport = "udp" | "tcp";

export interface EgressRule {
  /** Exact host name, `*.suffix` (exactly one more label), or `*` (any host: DNS, DHCP). */
  readonly host: string;
  readonly port: number;
  readonly transport: Transport;
  readonly purpose: string;
}

/**
 * The one rule firmware images are downloaded under: Azure blob storage, one label before the suffix, HTTPS on 443.
 * A firmware URL must match this rule itself, not merely some rule of the table (`*:53/tcp` would match any host).
 */
export const FIRMWARE_STORAGE_RULE: EgressRule = { host: "*.blob.core.windows.net", port: 443, transport: "tcp", purpose: "HTTPS: firmware update blob storage" };

/**
 * What the KIS.ME integration guide (v6, 01/2022, table 1 and section 2.1) allows a device to reach.
 * Sites open exactly this in their firewalls, so the firmware must never need anything else.
 */
export const INTEGRATION_GUIDE_EGRESS: readonly EgressRule[] = [
  { host: "*", port: 53, transport: "udp", purpose: "DNS" },
  { host: "*", port: 53, transport: "tcp", purpose: "DNS" },
  { host: "*", port: 67, transport: "udp", purpose: "DHCP" },
  { host: "0.europe.pool.ntp.org", port: 123, transport: "udp", purpose: "NTP" },
  { host: "1.europe.pool.ntp.org", port: 123, transport: "udp", purpose: "NTP" },
  { host: "2.europe.pool.ntp.org", port: 123, transport: "udp", purpose: "NTP" },
  { host: "3.europe.pool.ntp.org", port: 123, transport: "udp", purpose: "NTP" },
  { host: "iotrafi.centersightcloud.com", port: 443, transport: "tcp", purpose: "HTTPS: KIS.ME cloud service" },
  { host: "bootstrap.centersightcloud.com", port: 443, transport: "tcp", purpose: "HTTPS: bootstrap" },
  { host: "connect.centersightcloud.com", port: 443, transport: "tcp", purpose: "HTTPS: connect" },
  FIRMWARE_STORAGE_RULE,
  { host: "iotrafi-prod-iot-hub.azure-devices.net", port: 8883, transport: "tcp", purpose: "MQTT over TLS: Azure IoT Hub" },
];

export class EgressDeniedError extends Error {
  override readonly name = "EgressDeniedError";
  constructor(
    readonly host: string,
    readonly port: number,
    readonly transport: Transport,
  ) {
    super(`egress refused: ${transport} ${host}:${port} is not in the integration guide's firewall table`);
  }
}

/** One outbound connection the firmware tried, allowed or not. */
export interface EgressAttempt {
  readonly host: string;
  readonly port: number;
  readonly transport: Transport;
  readonly allowed: boolean;
  readonly purpose: string | undefined;
}

export function hostMatches(pattern: string, host: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, "");
  const p = pattern.toLowerCase();
  if (p === "*") return true;
  if (p.startsWith("*.")) {
    const suffix = p.slice(1); // ".blob.core.windows.net"
    if (!h.endsWith(suffix)) return false;
    const label = h.slice(0, h.length - suffix.length);
    // Length checked apart: XS mis-handles a bounded quantifier inside an optional group.
    return label.length >= 1 && label.length <= 63 && /^[a-z0-9-]+$/.test(label) && !label.startsWith("-") && !label.endsWith("-");
  }
  return h === p;
}

/** Checks every outbound connection against one table and logs what it refuses. */
export class EgressPolicy {
  private readonly attempts = new Listeners<EgressAttempt>();

  constructor(
    private readonly rules: readonly EgressRule[],
    private readonly logger: ScopedLogger,
  ) {}

  get table(): readonly EgressRule[] {
    return this.rules;
  }

  rule(host: string, port: number, transport: Transport): EgressRule | undefined {
    return this.rules.find((r) => r.port === port && r.transport === transport && hostMatches(r.host, host));
  }

  allows(host: string, port: number, transport: Transport): boolean {
    return this.rule(host, port, transport) !== undefined;
  }

  /** Throws EgressDeniedError (and logs host and port) unless the table allows the connection. */
  check(host: string, port: number, transport: Transport): void {
    const rule = this.rule(host, port, transport);
    this.attempts.emit({ host, port, transport, allowed: rule !== undefined, purpose: rule?.purpose });
    if (!rule) {
      this.logger.warn("egress refused", { host, port, transport });
      throw new EgressDeniedError(host, port, transport);
    }
  }

  /** Every attempt, allowed or refused (diagnostics, tests). */
  onAttempt(listener: (attempt: EgressAttempt) => void): () => void {
    return this.attempts.add(listener);
  }
}
