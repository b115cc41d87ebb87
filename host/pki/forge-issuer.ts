import { generateKeyPairSync, randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import forge from "node-forge";

interface Files {
  readonly cert: string;
  readonly key: string;
  readonly certDer: string;
  readonly keyDer?: string;
}

/**
 * The pure-JavaScript fallback of the development PKI, for machines without the openssl command.
 * It takes the same OpenSSL-style extension lines and writes the same files (PEM and DER).
 */
export class ForgeIssuer {
  createCa(name: string, files: Files): void {
    const keys = this.keyPair(files);
    const cert = this.certificate(keys.publicKey, name, 3650);
    cert.setIssuer(cert.subject.attributes);
    cert.setExtensions([
      { name: "basicConstraints", cA: true, critical: true },
      { name: "keyUsage", keyCertSign: true, cRLSign: true, critical: true },
      { name: "subjectKeyIdentifier" },
    ]);
    cert.sign(keys.privateKey, forge.md.sha256.create());
    this.write(cert, files);
  }

  issue(ca: { cert: string; key: string }, subjectCn: string, extensionLines: string, files: Files): void {
    const caCert = forge.pki.certificateFromPem(readFileSync(ca.cert, "utf8"));
    const caKey = forge.pki.privateKeyFromPem(readFileSync(ca.key, "utf8")) as forge.pki.rsa.PrivateKey;
    const keys = this.keyPair(files);
    const cert = this.certificate(keys.publicKey, subjectCn, 825);
    cert.setIssuer(caCert.subject.attributes);
    cert.setExtensions(this.extensions(extensionLines));
    cert.sign(caKey, forge.md.sha256.create());
    this.write(cert, files);
  }

  private keyPair(files: Files): { publicKey: forge.pki.rsa.PublicKey; privateKey: forge.pki.rsa.PrivateKey } {
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const pem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    writeFileSync(files.key, pem, { mode: 0o600 });
    if (files.keyDer) writeFileSync(files.keyDer, privateKey.export({ type: "pkcs8", format: "der" }), { mode: 0o600 });
    const forgeKey = forge.pki.privateKeyFromPem(pem) as forge.pki.rsa.PrivateKey;
    return { privateKey: forgeKey, publicKey: forge.pki.setRsaPublicKey(forgeKey.n, forgeKey.e) };
  }

  private certificate(publicKey: forge.pki.PublicKey, cn: string, days: number): forge.pki.Certificate {
    const cert = forge.pki.createCertificate();
    cert.publicKey = publicKey;
    // A positive INTEGER in minimal DER: no leading zero byte (OpenSSL refuses "illegal padding"), top bit clear.
    const serial = randomBytes(16);
    serial[0] = (serial[0]! & 0x7f) | 0x40;
    cert.serialNumber = serial.toString("hex");
    cert.validity.notBefore = new Date(Date.now() - 60_000);
    cert.validity.notAfter = new Date(Date.now() + days * 86_400_000);
    cert.setSubject([{ name: "commonName", value: cn }]);
    return cert;
  }

  /** Translates the extension lines dev-pki.ts gives openssl. */
  private extensions(lines: string): object[] {
    const out: object[] = [];
    for (const line of lines.split("\n")) {
      const [name, value = ""] = line.split("=", 2) as [string, string?];
      const items = value.split(",").map((v) => v.trim());
      if (name === "basicConstraints") out.push({ name, cA: false });
      else if (name === "keyUsage") out.push({ name, critical: items.includes("critical"), digitalSignature: true, keyEncipherment: true });
      else if (name === "extendedKeyUsage") out.push({ name: "extKeyUsage", serverAuth: items.includes("serverAuth"), clientAuth: items.includes("clientAuth") });
      else if (name === "subjectAltName") {
        out.push({
          name,
          altNames: items.map((i) => (i.startsWith("IP:") ? { type: 7, ip: i.slice(3) } : { type: 2, value: i.slice(4) })),
        });
      }
    }
    return out;
  }

  private write(cert: forge.pki.Certificate, files: Files): void {
    writeFileSync(files.cert, forge.pki.certificateToPem(cert));
    writeFileSync(files.certDer, Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(cert)).getBytes(), "binary"));
  }
}
