import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { generate } from 'selfsigned';

/** The camera's HTTPS identity: made once at its first start, then read back from its state dir. */
export interface CameraTls {
  key: string;
  cert: string;
  /** SHA-256 of the DER certificate, colon-separated upper-case hex (what a user compares at enrolment). */
  fingerprint: string;
  /** True when this call generated the certificate (first start), false when it was read back. */
  created: boolean;
}

export const certFingerprint = (pem: string): string => new X509Certificate(pem).fingerprint256;

/**
 * Like a factory-fresh Axis device, the camera makes its own self-signed certificate (CN axis-<serial>,
 * valid for the loopback address it listens on) the first time it starts and keeps it, so a
 * fingerprint pinned at enrolment stays valid across restarts. The key file is 0600.
 */
export async function loadOrCreateCameraTls(dir: string, serial: string, now: () => number = Date.now): Promise<CameraTls> {
  const keyFile = path.join(dir, 'https', 'key.pem');
  const certFile = path.join(dir, 'https', 'cert.pem');
  if (fs.existsSync(keyFile) && fs.existsSync(certFile)) {
    const key = fs.readFileSync(keyFile, 'utf8');
    const cert = fs.readFileSync(certFile, 'utf8');
    try {
      return { key, cert, fingerprint: certFingerprint(cert), created: false };
    } catch {
      // An unreadable certificate (torn write, edited by hand) is replaced, as a device regenerates it.
    }
  }
  const from = new Date(now() - 24 * 3600_000);
  const pems = await generate([{ name: 'commonName', value: `axis-${serial.toLowerCase()}` }, { name: 'organizationName', value: 'Axis Communications AB' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: from,
    notAfterDate: new Date(from.getTime() + 10 * 365 * 24 * 3600_000),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 7, ip: '127.0.0.1' },
          { type: 2, value: 'localhost' },
          { type: 2, value: `axis-${serial.toLowerCase()}` },
        ],
      },
    ],
  });
  fs.mkdirSync(path.dirname(keyFile), { recursive: true, mode: 0o700 });
  // Write to a temp name and rename, so a crash mid-write never leaves half a key behind.
  const put = (file: string, text: string, mode: number): void => {
    const tmp = `${file}.tmp`;
    fs.writeFileSync(tmp, text, { mode });
    fs.renameSync(tmp, file);
  };
  put(keyFile, pems.private, 0o600);
  put(certFile, pems.cert, 0o644);
  return { key: pems.private, cert: pems.cert, fingerprint: certFingerprint(pems.cert), created: true };
}
