import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDigestServer, parseAuthParams } from './digest';
import { startSimulatedFleet, type SimCameraInfo, type SimFleet } from './index';
import { curl } from './testkit';

const md5 = (s: string): string => createHash('md5').update(s).digest('hex');

describe('Digest against real curl', () => {
  let fleet: SimFleet;
  let cam: SimCameraInfo;
  const user = (role: string): { user: string; pass: string } => {
    const u = cam.users!.find((x) => x.role === role)!;
    return { user: u.username, pass: u.password };
  };

  beforeAll(async () => {
    fleet = await startSimulatedFleet({ cameras: 1, seed: 11 });
    cam = fleet.cameras[0]!;
  });
  afterAll(() => fleet.stop());

  it('challenges without credentials with realm AXIS_<MAC>, MD5 and qop=auth', async () => {
    const r = await curl(`${cam.url}/axis-cgi/param.cgi?action=list&group=Brand`);
    expect(r.status).toBe(401);
    const p = parseAuthParams(r.headers['www-authenticate']!.replace(/^Digest /, ''));
    expect(p.realm).toBe(`AXIS_${cam.mac.replace(/:/g, '')}`);
    expect(p.realm).toMatch(/^AXIS_[0-9A-F]{12}$/);
    expect(p.qop).toBe('auth');
    expect(p.algorithm).toBe('MD5');
    expect(p.nonce).toMatch(/^[0-9a-f]{32}$/);
  });

  it('accepts the administrator and refuses a wrong password', async () => {
    expect((await curl(`${cam.url}/axis-cgi/param.cgi?action=list&group=Brand`, { user: cam.username, pass: cam.password })).status).toBe(200);
    expect((await curl(`${cam.url}/axis-cgi/param.cgi?action=list&group=Brand`, { user: cam.username, pass: `${cam.password}x` })).status).toBe(401);
    expect((await curl(`${cam.url}/axis-cgi/param.cgi?action=list&group=Brand`, { user: 'nobody', pass: 'x' })).status).toBe(401);
  });

  it('answers 403 when the role is too low', async () => {
    const v = user('viewer');
    const o = user('operator');
    expect((await curl(`${cam.url}/axis-cgi/jpg/image.cgi?resolution=160x90`, v)).status).toBe(200);
    expect((await curl(`${cam.url}/axis-cgi/param.cgi?action=list&group=Brand`, v)).status).toBe(403);
    expect((await curl(`${cam.url}/axis-cgi/param.cgi?action=list&group=Brand`, o)).status).toBe(200);
    expect((await curl(`${cam.url}/axis-cgi/applications/list.cgi`, o)).status).toBe(403);
    expect((await curl(`${cam.url}/local/omnisight/identity.cgi`, v)).status).toBe(200);
    const mq = await curl(`${cam.url}/axis-cgi/mqtt/client.cgi`, { ...o, data: '{"apiVersion":"1.0","method":"getClientStatus"}' });
    expect(mq.status).toBe(403);
  });

  it('serves a JSON API through curl --digest (empty-body probe first)', async () => {
    const r = await curl(`${cam.url}/axis-cgi/basicdeviceinfo.cgi`, { ...user('operator'), data: '{"apiVersion":"1.0","method":"getAllProperties"}' });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body.toString()).data.propertyList.SerialNumber).toBe(cam.serial);
  });
});

describe('Digest nonces', () => {
  let t = 1_000_000;
  const users = [{ username: 'root', password: 'pw', role: 'administrator' as const }];
  const server = createDigestServer({ realm: 'AXIS_TEST', users: () => users, now: () => t, nonceTtlMs: 60_000 });
  const answer = (nonce: string, nc: string, pass = 'pw', uri = '/a?b=1'): string => {
    const ha1 = md5(`root:AXIS_TEST:${pass}`);
    const ha2 = md5(`GET:${uri}`);
    const response = md5(`${ha1}:${nonce}:${nc}:abc:auth:${ha2}`);
    return `Digest username="root", realm="AXIS_TEST", nonce="${nonce}", uri="${uri}", algorithm=MD5, qop=auth, nc=${nc}, cnonce="abc", response="${response}"`;
  };
  const nonceOf = (): string => parseAuthParams(server.challenge(false)).nonce!;

  it('accepts increasing nc and refuses a replayed nc', () => {
    const n = nonceOf();
    expect(server.verify('GET', '/a?b=1', answer(n, '00000001')).ok).toBe(true);
    expect(server.verify('GET', '/a?b=1', answer(n, '00000002')).ok).toBe(true);
    const replay = server.verify('GET', '/a?b=1', answer(n, '00000002'));
    expect(replay).toMatchObject({ ok: false, stale: false });
  });

  it('marks an expired nonce stale only when the password was right', () => {
    const n = nonceOf();
    t += 61_000;
    expect(server.verify('GET', '/a?b=1', answer(n, '00000001'))).toMatchObject({ ok: false, stale: true });
    const n2 = nonceOf();
    t += 61_000;
    expect(server.verify('GET', '/a?b=1', answer(n2, '00000001', 'wrong'))).toMatchObject({ ok: false, stale: false });
    expect(server.challenge(true)).toContain('stale=true');
  });

  it('refuses a digest computed for another URI', () => {
    const n = nonceOf();
    expect(server.verify('GET', '/other', answer(n, '00000001')).ok).toBe(false);
  });
});
