// Key enrolment over an authenticated channel (camera-identity.md): the camera's HTTPS certificate
// is pinned when it is added (trust on first use, the fingerprint shown to the user), or accepted
// because it chains to a CA the user trusts and names the camera. identity.cgi is read only over
// that channel; a changed certificate stops everything and waits for the user's decision.
import crypto from 'node:crypto';
import type { CameraId } from '../../preload/contract/camera-id';
import type { Camera } from '../../preload/contract/fleet';
import type { AuditLog } from '../audit';
import { AppError } from '../kernel/errors';
import type { HelperResult, HelperTarget, HelperTlsPolicy } from '../helper';
import type { Registry } from './registry';
import { HelperCallError, toAppError, type HelperSupervisor } from './supervisor';

export type CameraIdentity = HelperResult<'identity'>;
export type PeerCertificate = HelperResult<'certificate'>;

const CAS_STATE = 'tls.trustedCas';

export interface Enrolment {
  /** The certificate a host presents (nothing but a TLS handshake). */
  peek(host: string, httpsPort: number, serial?: string): Promise<PeerCertificate>;
  /**
   * Pins the certificate the camera presents now. With `expected`, it must be the fingerprint the
   * user saw; without it this is trust on first use (recorded in the audit log with the fingerprint).
   */
  pin(c: Camera, expected?: string): Promise<Camera>;
  /** identity.cgi over the pinned channel; a changed certificate is recorded and refused (AppError conflict). */
  read(c: Camera, o?: { rotate?: boolean; timeoutMs?: number }): Promise<CameraIdentity>;
  /** Records a key read over the pinned channel as the camera's key (audit says when it replaced another). */
  enrol(c: Camera, id: CameraIdentity, why: 'added' | 'first install' | 'rotation' | 'reconnected' | 'trusted certificate'): Camera;
  trustedCas(): string[];
  setTrustedCas(pems: string[]): void;
}

export const caInfo = (pem: string): { subject: string; fingerprint: string } => {
  const x = new crypto.X509Certificate(pem);
  return { subject: x.subject.replace(/\n/g, ', '), fingerprint: x.fingerprint256 };
};

export function createEnrolment(deps: {
  registry: Registry;
  helper: Pick<HelperSupervisor, 'call'>;
  audit: AuditLog;
  now: () => number;
  target: (c: Camera) => HelperTarget;
  /** The camera list changed (a pin, a changed certificate, a key). */
  changed: () => void;
  onKeyRecorded?: (k: { cameraId: CameraId; serial: string; keyId: string; publicKey: string }) => void;
}): Enrolment {
  const { registry, helper, audit, now } = deps;

  const trustedCas = (): string[] => {
    try {
      const v: unknown = JSON.parse(registry.state(CAS_STATE) ?? '[]');
      return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
    } catch {
      return [];
    }
  };

  const policy = (c: Camera): HelperTlsPolicy => {
    const p = registry.pinOf(c.id);
    const cas = trustedCas();
    return { port: p?.httpsPort ?? 443, pin: p?.fingerprint ?? null, ...(cas.length ? { ca: cas } : {}), ...(c.serial ? { serial: c.serial } : {}) };
  };

  const peek = async (host: string, httpsPort: number, serial?: string): Promise<PeerCertificate> => {
    const cas = trustedCas();
    try {
      return await helper.call({ op: 'certificate', host, tls: { port: httpsPort, ...(cas.length ? { ca: cas } : {}), ...(serial ? { serial } : {}) } }, 10_000);
    } catch (e) {
      throw toAppError(e);
    }
  };

  const pin = async (c: Camera, expected?: string): Promise<Camera> => {
    const port = registry.pinOf(c.id)?.httpsPort ?? 443;
    const cert = await peek(c.host, port, c.serial);
    if (expected && cert.fingerprint !== expected)
      throw new AppError(
        'conflict',
        `${c.host}:${port} now presents certificate ${cert.fingerprint}, not the ${expected} you confirmed. Nothing was trusted. Check the fingerprint on the camera (System → Security → Certificates) and try again.`,
      );
    const trust = cert.caTrusted ? 'ca' : 'pin';
    const updated = registry.update(c.id, { certFingerprint: cert.fingerprint, certTrust: trust, certPinnedAt: now(), certSeen: null, certSeenAt: null });
    audit.record({
      kind: 'camera.certificate_trusted',
      severity: 'info',
      source: c.id,
      message:
        trust === 'ca'
          ? `${c.name}: HTTPS certificate ${cert.fingerprint} accepted: it chains to a CA you trust (${cert.issuer})`
          : `${c.name}: HTTPS certificate ${cert.fingerprint} pinned (${expected ? 'fingerprint confirmed by the user' : 'trust on first use'})`,
      detail: { fingerprint: cert.fingerprint, trust, confirmed: !!expected },
    });
    deps.changed();
    return updated;
  };

  const read = async (c: Camera, o: { rotate?: boolean; timeoutMs?: number } = {}): Promise<CameraIdentity> => {
    try {
      const id = await helper.call({ op: 'identity', target: deps.target(c), tls: policy(c), ...(o.rotate ? { rotate: true } : {}) }, o.timeoutMs ?? 10_000);
      // A CA-verified certificate may replace another one; keep what was accepted last.
      const p = registry.pinOf(c.id);
      if (p?.fingerprint !== id.certificate.fingerprint || p.trust !== id.certificate.trust || c.certificateChanged)
        registry.update(c.id, { certFingerprint: id.certificate.fingerprint, certTrust: id.certificate.trust, certPinnedAt: now(), certSeen: null, certSeenAt: null });
      if (c.serial && id.camera !== c.serial)
        throw new AppError('conflict', `identity.cgi of ${c.name} names serial ${id.camera}, but the camera is ${c.serial}. Its key was not recorded; check that the address points at this camera.`);
      return id;
    } catch (e) {
      if (e instanceof HelperCallError && e.kind === 'cert_changed') {
        const seen = await peek(c.host, policy(c).port, c.serial).catch(() => undefined);
        const known = registry.get(c.id)?.certificateChanged?.fingerprint;
        if (seen && seen.fingerprint !== known) {
          registry.update(c.id, { certSeen: seen.fingerprint, certSeenAt: now() });
          audit.record({
            kind: 'camera.certificate_changed',
            severity: 'critical',
            source: c.id,
            message: `${c.name}: its HTTPS certificate changed to ${seen.fingerprint} (pinned: ${policy(c).pin}). Nothing is read from it until you trust the new certificate in the camera's details.`,
            detail: { pinned: policy(c).pin, seen: seen.fingerprint },
          });
          deps.changed();
        }
        throw new AppError('conflict', e.message);
      }
      throw toAppError(e);
    }
  };

  const enrol = (c: Camera, id: CameraIdentity, why: Parameters<Enrolment['enrol']>[2]): Camera => {
    const prev = registry.keyOf(c.id);
    if (prev?.keyId === id.key && prev.publicKey === id.publicKey) return registry.get(c.id)!;
    const updated = registry.update(c.id, { publicKey: id.publicKey, keyId: id.key, keyEnrolledAt: now() });
    const replaced = prev && why !== 'rotation';
    audit.record({
      kind: replaced ? 'camera.identity_changed' : 'camera.key_enrolled',
      severity: replaced ? 'warning' : 'info',
      source: c.id,
      message: replaced
        ? `${c.name}: the camera app now signs with key ${id.key}, not ${prev.keyId} (${why}); the new key was read over the camera's trusted HTTPS certificate and is enrolled. A camera reset or a removed app does this; if neither happened, check the camera.`
        : `${c.name}: signing key ${id.key} enrolled (${why}) over HTTPS, certificate ${id.certificate.fingerprint} (${id.certificate.trust === 'ca' ? 'trusted CA' : 'pinned'})`,
      detail: { keyId: id.key, previous: prev?.keyId ?? null, fingerprint: id.certificate.fingerprint, why },
    });
    deps.onKeyRecorded?.({ cameraId: c.id, serial: c.serial, keyId: id.key, publicKey: id.publicKey });
    deps.changed();
    return updated;
  };

  return {
    peek,
    pin,
    read,
    enrol,
    trustedCas,
    setTrustedCas(pems) {
      for (const p of pems) {
        try {
          caInfo(p);
        } catch {
          throw new AppError('invalid_input', 'One of the CA certificates is not a PEM certificate ("-----BEGIN CERTIFICATE-----"). Export it from the CA as PEM and try again.');
        }
      }
      registry.setState(CAS_STATE, JSON.stringify(pems));
      audit.record({ kind: 'settings.trusted_cas', severity: 'info', source: 'fleet', message: `Trusted camera CAs set: ${pems.map((p) => caInfo(p).subject).join('; ') || 'none'}` });
    },
  };
}
