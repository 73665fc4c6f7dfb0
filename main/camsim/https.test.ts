import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulatedFleet, type SimCameraInfo, type SimFleet } from './index';
import { curl } from './testkit';

/** The certificate the camera presents, read by a TLS client (not from the simulator's insides). */
const peerFingerprint = (port: number): Promise<string> =>
  new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      const fp = s.getPeerCertificate().fingerprint256;
      s.end();
      resolve(fp);
    });
    s.once('error', reject);
  });

const peerCert = (port: number): Promise<tls.PeerCertificate> =>
  new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      const c = s.getPeerCertificate();
      s.end();
      resolve(c);
    });
    s.once('error', reject);
  });

describe('HTTPS on every simulated camera', () => {
  let dir: string;
  let fleet: SimFleet;
  let cam: SimCameraInfo;
  const base = (c: SimCameraInfo): string => `https://127.0.0.1:${c.httpsPort}`;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'camsim-https-'));
    fleet = await startSimulatedFleet({ cameras: 2, seed: 21, dataDir: dir, apps: 'agent' });
    cam = fleet.cameras[0]!;
  });
  afterAll(async () => {
    await fleet.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('reports an HTTPS port beside the HTTP one and asks for Digest there too', async () => {
    expect(cam.httpsPort).toBeGreaterThan(0);
    expect(cam.httpsPort).not.toBe(Number(new URL(cam.url).port));
    const anon = await curl(`${base(cam)}/axis-cgi/param.cgi?action=list&group=Brand.ProdNbr`, { extra: ['-k'] });
    expect(anon.status).toBe(401);
    expect(anon.headers['www-authenticate']).toMatch(/^Digest realm="AXIS_[0-9A-F]{12}", nonce="[0-9a-f]+", algorithm=MD5, qop="auth"/);
    const wrong = await curl(`${base(cam)}/axis-cgi/param.cgi?action=list&group=Brand.ProdNbr`, { user: cam.username, pass: 'wrong', extra: ['-k'] });
    expect(wrong.status).toBe(401);
    const ok = await curl(`${base(cam)}/axis-cgi/param.cgi?action=list&group=Brand.ProdNbr`, { user: cam.username, pass: cam.password, extra: ['-k'] });
    expect(ok.status).toBe(200);
    expect(ok.body.toString()).toBe('root.Brand.ProdNbr=Q1656\r\n');
  });

  it('serves the same JSON APIs and video over TLS', async () => {
    const r = await curl(`${base(cam)}/axis-cgi/basicdeviceinfo.cgi`, {
      user: cam.username,
      pass: cam.password,
      data: JSON.stringify({ apiVersion: '1.0', method: 'getAllProperties' }),
      extra: ['-k', '-H', 'Content-Type: application/json'],
    });
    expect(JSON.parse(r.body.toString()).data.propertyList.SerialNumber).toBe(cam.serial);
    const img = await curl(`${base(cam)}/axis-cgi/jpg/image.cgi?resolution=320x180`, { user: cam.username, pass: cam.password, extra: ['-k'] });
    expect(img.status).toBe(200);
    expect(img.headers['content-type']).toBe('image/jpeg');
    expect(img.body.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
  });

  it('refuses an unverified TLS client: the certificate is self-signed, for the loopback address', async () => {
    const strict = await curl(`${base(cam)}/axis-cgi/param.cgi?action=list`, {});
    expect(strict.status).toBe(0);
    expect(strict.exitCode).not.toBe(0);
    const c = await peerCert(cam.httpsPort);
    expect(c.subject.CN).toBe(`axis-${cam.serial.toLowerCase()}`);
    expect(c.issuer.CN).toBe(c.subject.CN);
    expect(c.subjectaltname).toContain('IP Address:127.0.0.1');
    // A client that pins the certificate (as the desktop does at enrolment) gets through without -k.
    const pinned = await new Promise<number>((resolve, reject) => {
      const req = https.get(
        {
          host: '127.0.0.1',
          port: cam.httpsPort,
          path: '/axis-cgi/basicdeviceinfo.cgi',
          ca: `-----BEGIN CERTIFICATE-----\n${c.raw.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n`,
          checkServerIdentity: () => undefined,
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.once('error', reject);
    });
    expect(pinned).toBe(200); // basicdeviceinfo answers a GET with its JSON error 2002 (only POST): the TLS handshake itself succeeded
  });

  it('keeps its certificate across a crash and restart, and across a new fleet on the same state dir', async () => {
    const before = await peerFingerprint(cam.httpsPort);
    expect(before).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    const other = await peerFingerprint(fleet.cameras[1]!.httpsPort);
    expect(other).not.toBe(before);
    await fleet.faults(cam.id).crash();
    await fleet.faults(cam.id).restart();
    expect(await peerFingerprint(cam.httpsPort)).toBe(before);
    const keyFile = path.join(dir, cam.serial, 'https', 'key.pem');
    expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600);
    await fleet.stop();
    fleet = await startSimulatedFleet({ cameras: 2, seed: 21, dataDir: dir, apps: 'agent' });
    cam = fleet.cameras[0]!;
    expect(await peerFingerprint(cam.httpsPort)).toBe(before);
    // A fresh state dir is a factory-fresh camera: a new certificate.
    const fresh = await startSimulatedFleet({ cameras: 1, seed: 21, apps: 'agent' });
    try {
      expect(await peerFingerprint(fresh.cameras[0]!.httpsPort)).not.toBe(before);
    } finally {
      await fresh.stop();
    }
  });
});
