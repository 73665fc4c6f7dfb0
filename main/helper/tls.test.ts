// The pinned HTTPS channel for enrolment against a real HTTPS server (node:https with certificates
// made by the openssl CLI, a small Digest check of its own): a key is read only when the certificate
// is the pinned one or CA-verified for this camera, and nothing is sent otherwise.
import { execFileSync } from 'node:child_process';
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VapixError } from './digest';
import { peekCertificate } from './tls';
import { readIdentity } from './vapix';

const SERIAL = 'B8A44F00C0DE';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'omni-tls-'));
const openssl = (...args: string[]): string => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
const selfSigned = (name: string, cn: string): { key: string; cert: string } => {
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '2', '-subj', `/CN=${cn}`);
  return { key: fs.readFileSync(path.join(dir, `${name}.key`), 'utf8'), cert: fs.readFileSync(path.join(dir, `${name}.crt`), 'utf8') };
};
/** A leaf signed by ca.crt, as an Axis device ID certificate names the serial in its subject. */
const caSigned = (name: string, cn: string): { key: string; cert: string } => {
  openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
  openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '2');
  return { key: fs.readFileSync(path.join(dir, `${name}.key`), 'utf8'), cert: fs.readFileSync(path.join(dir, `${name}.crt`), 'utf8') };
};
/** openssl's own fingerprint of a PEM certificate: the independent check of ours. */
const opensslFingerprint = (name: string): string => openssl('x509', '-in', `${name}.crt`, '-noout', '-fingerprint', '-sha256').trim().split('=')[1]!;

/** Server side of Digest MD5 qop=auth for one user (RFC 7616), enough to prove the client answers it. */
const md5 = (x: string): string => createHash('md5').update(x).digest('hex');
const REALM = 'AXIS_B8A44F00C0DE';
const nonces = new Set<string>();
const digest = {
  challenge: (): string => {
    const n = randomBytes(12).toString('hex');
    nonces.add(n);
    return `Digest realm="${REALM}", nonce="${n}", algorithm=MD5, qop="auth"`;
  },
  ok: (method: string, url: string, header: string | undefined): boolean => {
    const p = Object.fromEntries([...(header ?? '').matchAll(/(\w+)=(?:"([^"]*)"|([^,\s]+))/g)].map((m) => [m[1], m[2] ?? m[3]]));
    if (!header?.startsWith('Digest ') || p.username !== 'root' || !nonces.has(p.nonce ?? '') || p.uri !== url) return false;
    const ha1 = md5(`root:${REALM}:pass-root`);
    return p.response === md5(`${ha1}:${p.nonce}:${p.nc}:${p.cnonce}:auth:${md5(`${method}:${url}`)}`);
  },
};
const pub = generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
const keyId = createHash('sha256').update(pub).digest('hex').slice(0, 16);
let identityBody: unknown = { camera: SERIAL, key: keyId, publicKey: pub.toString('base64'), version: '1.2.0', epoch: 7 };

let server: https.Server;
let port: number;
let requests = 0;
let certA: { key: string; cert: string };
let certB: { key: string; cert: string };
let ca: string;
let pinA: string;

beforeAll(async () => {
  certA = selfSigned('a', 'axis-b8a44f00c0de');
  certB = selfSigned('b', 'axis-b8a44f00c0de');
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=Test Device CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign');
  ca = fs.readFileSync(path.join(dir, 'ca.crt'), 'utf8');
  pinA = opensslFingerprint('a');
  server = https.createServer({ key: certA.key, cert: certA.cert }, (req, res) => {
    requests++;
    if (!digest.ok(req.method ?? 'GET', req.url ?? '', req.headers.authorization)) {
      res.writeHead(401, { 'WWW-Authenticate': digest.challenge() }).end();
      return;
    }
    if (req.url === '/local/omnisight/identity.cgi' || (req.url === '/local/omnisight/admin/identity.cgi?action=rotate' && req.method === 'POST')) {
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(identityBody));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  fs.rmSync(dir, { recursive: true, force: true });
});

const target = () => ({ host: '127.0.0.1', port: 1, username: 'root', password: 'pass-root' });
const failure = async (p: Promise<unknown>): Promise<VapixError> => {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(VapixError);
  return e as VapixError;
};

describe('pinned HTTPS enrolment channel', () => {
  it('shows the fingerprint openssl computes, without sending a request', async () => {
    const before = requests;
    const c = await peekCertificate('127.0.0.1', { port });
    expect(c.fingerprint).toBe(pinA);
    expect(c.caTrusted).toBe(false);
    expect(c.subject).toContain('axis-b8a44f00c0de');
    expect(requests).toBe(before);
  });

  it('reads nothing before a certificate is pinned or CA-verified', async () => {
    const before = requests;
    const e = await failure(readIdentity(target(), { port, pin: null }));
    expect(e.kind).toBe('cert_untrusted');
    expect(e.message).toContain(pinA);
    expect(requests).toBe(before);
  });

  it('reads the identity with Digest over the pinned certificate', async () => {
    const id = await readIdentity(target(), { port, pin: pinA });
    expect(id).toMatchObject({ camera: SERIAL, key: keyId, publicKey: pub.toString('base64'), version: '1.2.0', epoch: 7 });
    expect(id.certificate).toMatchObject({ fingerprint: pinA, trust: 'pin' });
    const rotated = await readIdentity(target(), { port, pin: pinA }, { rotate: true });
    expect(rotated.key).toBe(keyId);
  });

  it('stops at a changed certificate, naming both fingerprints, and sends no request', async () => {
    server.setSecureContext({ key: certB.key, cert: certB.cert });
    try {
      const before = requests;
      const e = await failure(readIdentity(target(), { port, pin: pinA }));
      expect(e.kind).toBe('cert_changed');
      expect(e.message).toContain(opensslFingerprint('b'));
      expect(e.message).toContain(pinA);
      expect(requests).toBe(before);
    } finally {
      server.setSecureContext({ key: certA.key, cert: certA.cert });
    }
  });

  it('accepts without a pin a certificate from a trusted CA that names the camera, and only that', async () => {
    const good = caSigned('dev', `AXIS device ID ${SERIAL}`);
    const other = caSigned('other', 'AXIS device ID ACCC8E000001');
    server.setSecureContext({ key: good.key, cert: `${good.cert}` });
    try {
      const id = await readIdentity(target(), { port, pin: null, ca: [ca], serial: SERIAL });
      expect(id.certificate).toMatchObject({ trust: 'ca', caTrusted: true, fingerprint: opensslFingerprint('dev') });
      // The same certificate without the user's CA is not trusted.
      expect((await failure(readIdentity(target(), { port, pin: null, serial: SERIAL }))).kind).toBe('cert_untrusted');
      server.setSecureContext({ key: other.key, cert: other.cert });
      const e = await failure(readIdentity(target(), { port, pin: null, ca: [ca], serial: SERIAL }));
      expect(e.kind).toBe('cert_untrusted');
      expect((await peekCertificate('127.0.0.1', { port, ca: [ca], serial: SERIAL })).caError).toMatch(/names neither/);
    } finally {
      server.setSecureContext({ key: certA.key, cert: certA.cert });
    }
  });

  it('refuses a reply whose key id is not derived from its public key', async () => {
    const saved = identityBody;
    identityBody = { ...(saved as object), key: '0123456789abcdef' };
    try {
      expect((await failure(readIdentity(target(), { port, pin: pinA }))).kind).toBe('bad_reply');
    } finally {
      identityBody = saved;
    }
  });

  it('says so when nothing answers HTTPS', async () => {
    const e = await failure(readIdentity(target(), { port: 1, pin: pinA }));
    expect(e.kind).toBe('refused');
    expect(e.message).toMatch(/HTTPS port/);
  });
});
