// The authenticated channel for enrolment: HTTPS to the camera with its certificate pinned when
// the camera was added (trust on first use), or a certificate that chains to a CA the user trusts.
// Digest authenticates our request, not the camera's reply, so a key read over plain HTTP could be
// replaced in transit; over a verified TLS session it cannot. The TLS session is set up and checked
// here BEFORE any HTTP byte (and so any Digest answer) is written on it.
import crypto from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { VapixError } from './digest';

/** How to verify the camera's HTTPS endpoint. */
export interface TlsPolicy {
  /** The camera's HTTPS port (443 on a real camera). */
  port: number;
  /** SHA-256 fingerprint of the pinned DER certificate (colon-separated upper-case hex); null before the first pin. */
  pin: string | null;
  /** PEM certificates of CAs the user trusts (in addition to the system's roots). */
  ca?: string[];
  /** The camera's serial: a CA-signed device certificate (Axis device ID) names it in its subject. */
  serial?: string;
}

export interface PeerCertificate {
  /** SHA-256 of the DER certificate, colon-separated upper-case hex (what the user compares). */
  fingerprint: string;
  subject: string;
  issuer: string;
  validFrom: string;
  validTo: string;
  /** The chain ends in a CA the user trusts and the certificate names this camera. */
  caTrusted: boolean;
  /** Why it does not chain to a trusted CA (OpenSSL's reason), or why it does not name the camera. */
  caError: string | null;
}

export const fingerprintOf = (der: Buffer): string =>
  crypto
    .createHash('sha256')
    .update(der)
    .digest('hex')
    .toUpperCase()
    .match(/../g)!
    .join(':');

export const FINGERPRINT_RE = /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/;

const dn = (o: Record<string, string | string[] | undefined> | undefined): string =>
  o
    ? Object.entries(o)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : v}`)
        .join(', ')
    : '';

/** Whether a CA-verified certificate is this camera's: the host name matches, or the subject names its serial. */
function namesCamera(host: string, cert: tls.PeerCertificate, serial: string | undefined): string | null {
  if (!net.isIP(host) && tls.checkServerIdentity(host, cert) === undefined) return null;
  if (net.isIP(host) && cert.subjectaltname?.split(/,\s*/).includes(`IP Address:${host}`)) return null;
  const subject = cert.subject as unknown as Record<string, string | string[] | undefined> | undefined;
  const names = [subject?.CN, subject?.serialNumber].flat().filter((v): v is string => typeof v === 'string');
  if (serial && names.some((n) => n.toUpperCase().includes(serial.toUpperCase()))) return null;
  return `the certificate is signed by a trusted CA but names neither ${host} nor serial ${serial ?? '(unknown)'}`;
}

/**
 * Opens a TLS session and returns it with what the camera presented. Certificate checks are the
 * caller's (verifySession): the handshake itself accepts any certificate so that a changed one
 * can be reported with its fingerprint instead of a bare handshake error.
 */
export function openTls(host: string, policy: Pick<TlsPolicy, 'port' | 'ca' | 'serial'>, timeoutMs = 8000): Promise<{ socket: tls.TLSSocket; cert: PeerCertificate }> {
  const where = `${host}:${policy.port}`;
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host,
      port: policy.port,
      servername: net.isIP(host) ? undefined : host,
      rejectUnauthorized: false,
      ca: policy.ca?.length ? [...tls.rootCertificates, ...policy.ca] : undefined,
      ALPNProtocols: ['http/1.1'],
      // The chain is Node's to check; whether it names this camera is namesCamera's (host OR serial).
      checkServerIdentity: () => undefined,
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new VapixError('timeout', `${where} did not complete a TLS handshake within ${Math.round(timeoutMs / 1000)} s. Check the camera's HTTPS port.`));
    }, timeoutMs);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      const c = socket.getPeerCertificate();
      if (!c?.raw) {
        socket.destroy();
        reject(new VapixError('bad_reply', `${where} presented no certificate over HTTPS.`));
        return;
      }
      const caErr = socket.authorized ? namesCamera(host, c, policy.serial) : String(socket.authorizationError ?? 'not trusted');
      resolve({
        socket,
        cert: {
          fingerprint: fingerprintOf(c.raw),
          subject: dn(c.subject as unknown as Record<string, string>),
          issuer: dn(c.issuer as unknown as Record<string, string>),
          validFrom: c.valid_from,
          validTo: c.valid_to,
          caTrusted: caErr === null,
          caError: caErr,
        },
      });
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (err.code === 'ECONNREFUSED')
        reject(new VapixError('refused', `Nothing answers HTTPS at ${where} (connection refused). Enter the camera's HTTPS port (443 on Axis cameras) and check that HTTPS is on.`));
      else reject(new VapixError('unreachable', `No TLS session with ${where} (${err.code ?? err.message}). Check the camera's HTTPS port.`));
    });
  });
}

/** How the certificate was accepted. */
export type TlsTrust = 'pin' | 'ca';

/** Accepts the session per the policy, or destroys it and throws saying what changed. */
export function verifySession(host: string, policy: TlsPolicy, cert: PeerCertificate): TlsTrust {
  const where = `${host}:${policy.port}`;
  if (cert.caTrusted) return 'ca';
  if (policy.pin === null)
    throw new VapixError('cert_untrusted', `${where} presents certificate ${cert.fingerprint}, which is not pinned yet and not accepted by a trusted CA (${cert.caError}). Confirm its fingerprint to trust it.`);
  if (cert.fingerprint !== policy.pin)
    throw new VapixError(
      'cert_changed',
      `The certificate of ${where} changed: it now presents ${cert.fingerprint}, pinned was ${policy.pin}. Nothing was read from it. If the camera was reset or its certificate replaced, check the new fingerprint on the camera and trust it in the camera's details; otherwise someone may be intercepting the connection.`,
    );
  return 'pin';
}

/** A verified TLS socket (for DigestSession's transport); the certificate as accepted is reported to `seen`. */
export async function pinnedSocket(host: string, policy: TlsPolicy, timeoutMs: number, seen?: (c: PeerCertificate, trust: TlsTrust) => void): Promise<tls.TLSSocket> {
  const { socket, cert } = await openTls(host, policy, timeoutMs);
  try {
    const trust = verifySession(host, policy, cert);
    seen?.(cert, trust);
    return socket;
  } catch (e) {
    socket.destroy();
    throw e;
  }
}

/** Reads the certificate a camera presents (for the add dialog), without sending anything. */
export async function peekCertificate(host: string, policy: Pick<TlsPolicy, 'port' | 'ca' | 'serial'>, timeoutMs = 8000): Promise<PeerCertificate> {
  const { socket, cert } = await openTls(host, policy, timeoutMs);
  socket.destroy();
  return cert;
}
