/**
 * The captive DNS responder of the setup access point: an ECMA-419 UDP socket (`embedded:io/socket/udp`) on port
 * 53 that answers every query with the portable codec (src/setup/dns-responder.ts: every A question gets the
 * device's address; junk is answered FORMERR/NOTIMP or dropped, never thrown). Only started on esp32, while the
 * access point is up; the simulator has no access point and no DNS of its own.
 */
import { DNS_PORT, answerDnsQuery, ipv4Bytes } from "setup/dns-responder";
import { UdpSocketClass, type Datagram } from "adapters/udp-datagrams";
import type { Logger } from "ports/logger";

/** At most this many queries are answered per readable event (the rest wait for the next one). */
const MAX_PER_EVENT = 8;

export function startSetupDns(address: string, logger?: Logger): { close(): void } {
  const answer = ipv4Bytes(address);
  let answered = 0;
  const socket = new UdpSocketClass({
    port: DNS_PORT,
    onReadable(packets: number) {
      for (let i = 0; i < packets && i < MAX_PER_EVENT; i++) {
        let datagram: Datagram | undefined;
        try {
          datagram = this.read();
          if (!datagram) return;
          const reply = answerDnsQuery(new Uint8Array(datagram), answer);
          if (reply) this.write(reply, datagram.address, datagram.port);
          if (answered++ === 0) logger?.log("debug", "setup-dns", `first query answered (from ${datagram.address})`);
        } catch (error) {
          logger?.log("warn", "setup-dns", `query not answered: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
    },
  });
  return { close: () => socket.close() };
}
