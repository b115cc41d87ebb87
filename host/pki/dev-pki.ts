import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ForgeIssuer } from "./forge-issuer";

/**
 * A development/test PKI made with openssl at run time (or, where openssl is not installed, with the
 * same layout in pure JavaScript, so `npm start` needs nothing beyond `npm ci`): a CA, a server certificate for the local hub
 * and RSA-2048 client certificates whose CN is the device id. Nothing here is ever committed.
 */
export interface Credential {
  /** PEM certificate file */
  readonly cert: string;
  /** PEM private key file (PKCS#8) */
  readonly key: string;
  /** DER certificate and PKCS#8 DER key, the form the Moddable TLS stack takes */
  readonly certDer: string;
  readonly keyDer: string;
}

export type PkiBackend = "openssl" | "forge";

export interface CertificateAuthority {
  readonly backend: PkiBackend;
  readonly dir: string;
  readonly name: string;
  /** PEM CA certificate */
  readonly cert: string;
  readonly certDer: string;
  readonly key: string;
}

let opensslPresent: boolean | undefined;

/** Whether the openssl command is installed (tests require it; `npm start` falls back without it). */
export function hasOpenssl(): boolean {
  if (opensslPresent === undefined) {
    try {
      execFileSync("openssl", ["version"], { stdio: "ignore" });
      opensslPresent = true;
    } catch {
      opensslPresent = false;
    }
  }
  return opensslPresent;
}

function openssl(args: string[], cwd: string): void {
  try {
    execFileSync("openssl", args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
  } catch (error) {
    const e = error as { stderr?: Buffer };
    throw new Error(`openssl ${args[0]} failed: ${e.stderr?.toString() ?? String(error)}`);
  }
}

function serial(): string {
  return "0x" + Array.from({ length: 16 }, () => Math.floor(Math.random() * 16).toString(16)).join("");
}

function safe(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, "_");
}

export function createCa(dir: string, name = "KIS.ME Development Root CA", backend: PkiBackend = hasOpenssl() ? "openssl" : "forge"): CertificateAuthority {
  mkdirSync(dir, { recursive: true });
  const base = safe(name);
  const cert = join(dir, `${base}.pem`);
  const key = join(dir, `${base}.key`);
  const certDer = join(dir, `${base}.der`);
  if ((!existsSync(cert) || !existsSync(key)) && backend === "forge") {
    new ForgeIssuer().createCa(name, { cert, key, certDer });
  } else if (!existsSync(cert) || !existsSync(key)) {
    openssl(
      ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "3650", "-subj", `/CN=${name}`,
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
      dir,
    );
    openssl(["x509", "-in", cert, "-outform", "DER", "-out", certDer], dir);
  }
  return { backend, dir, name, cert, certDer, key };
}

function issue(ca: CertificateAuthority, fileBase: string, subjectCn: string, extensions: string): Credential {
  const dir = ca.dir;
  const base = join(dir, safe(fileBase));
  const cred: Credential = { cert: `${base}.pem`, key: `${base}.key`, certDer: `${base}.der`, keyDer: `${base}.key.der` };
  if (existsSync(cred.cert) && existsSync(cred.key) && existsSync(cred.keyDer)) return cred;
  if (ca.backend === "forge") {
    new ForgeIssuer().issue(ca, subjectCn, extensions, cred);
    return cred;
  }
  const csr = `${base}.csr`;
  const ext = `${base}.ext`;
  writeFileSync(ext, extensions);
  openssl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", cred.key, "-out", csr, "-subj", `/CN=${subjectCn}`], dir);
  openssl(["x509", "-req", "-in", csr, "-CA", ca.cert, "-CAkey", ca.key, "-set_serial", serial(), "-days", "825", "-sha256",
    "-extfile", ext, "-out", cred.cert], dir);
  openssl(["x509", "-in", cred.cert, "-outform", "DER", "-out", cred.certDer], dir);
  openssl(["pkcs8", "-topk8", "-nocrypt", "-in", cred.key, "-outform", "DER", "-out", cred.keyDer], dir);
  return cred;
}

/** A TLS server certificate valid for `names` (DNS names or IPv4 addresses). */
export function issueServer(ca: CertificateAuthority, names: readonly string[]): Credential {
  const san = names.map((n) => (/^\d+\.\d+\.\d+\.\d+$/.test(n) ? `IP:${n}` : `DNS:${n}`)).join(",");
  return issue(ca, `server-${names.join("_")}`, names[0] ?? "localhost",
    `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=${san}\n`);
}

/** A client certificate with CN = `id` (a device id, or a service identity). */
export function issueClient(ca: CertificateAuthority, id: string): Credential {
  return issue(ca, `client-${id}`, id, "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n");
}

export function read(path: string): Buffer {
  return readFileSync(path);
}
