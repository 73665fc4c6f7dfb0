// Key enrolment over the camera's pinned HTTPS certificate, against the simulator's HTTPS (its
// self-signed certificate, its app's identity.cgi) with curl and openssl as the independent view
// of what the camera presents.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Camera, PeerCertificate } from '../../preload/contract';
import { startSimulatedFleet, type SimFleet } from '../camsim';
import { curl } from '../camsim/testkit';
import { createDispatcher } from '../kernel/dispatcher';
import { silentLogger } from '../kernel/logger';
import { createFleetHarness, type FleetHarness } from './testing';

const log = silentLogger();
let sim: SimFleet;
let h: FleetHarness;
let dir: string;
let call: <T>(m: string, i: unknown) => Promise<{ ok: true; value: T } | { ok: false; error: { code: string; message: string } }>;

/** Runs openssl asynchronously (the simulated camera answers from this very process). */
const openssl = (args: string[], input: string): Promise<string> =>
  new Promise((resolve, reject) => {
    const p = execFile('openssl', args, { timeout: 10_000 }, (err, out) => (err && !out ? reject(err) : resolve(out)));
    p.stdin?.end(input);
  });
/** openssl s_client's view of the certificate: the fingerprint the user compares with the camera. */
const opensslFingerprint = async (port: number): Promise<string> => {
  const pem = await openssl(['s_client', '-connect', `127.0.0.1:${port}`], '');
  const cert = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem)![0];
  return (await openssl(['x509', '-noout', '-fingerprint', '-sha256'], cert)).trim().split('=')[1]!;
};

beforeAll(async () => {
  sim = await startSimulatedFleet({ cameras: 2, seed: 21 });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'omni-enrol-'));
  h = await createFleetHarness(dir, log);
  const d = createDispatcher({ log });
  d.register(h.fleet.handlers);
  call = (m, i) => d.dispatch(m, i, { transport: 'internal', peer: 'test' }) as never;
}, 60_000);
afterAll(async () => {
  await h?.close();
  await sim?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('enrolment over the pinned HTTPS certificate', () => {
  it('shows the certificate the camera presents, pins the confirmed fingerprint and enrols the app key read over it', async () => {
    const cam = sim.cameras[0]!;
    const cert = await call<PeerCertificate>('fleet.certificate', { address: new URL(cam.url).host, httpsPort: cam.httpsPort });
    if (!cert.ok) throw new Error(cert.error.message);
    expect(cert.value.fingerprint).toBe(await opensslFingerprint(cam.httpsPort!));
    expect(cert.value.caTrusted).toBe(false);
    // A fingerprint the camera does not present is refused before anything is stored.
    const wrong = await call('fleet.add', { address: new URL(cam.url).host, username: cam.username, password: cam.password, httpsPort: cam.httpsPort, fingerprint: cert.value.fingerprint.replace(/^../, cert.value.fingerprint.startsWith('00') ? '11' : '00') });
    expect(wrong).toMatchObject({ ok: false, error: { code: 'conflict', message: expect.stringMatching(/not the .* you confirmed/) } });
    expect(h.fleet.registry.list()).toHaveLength(0);

    const added = await call<Camera>('fleet.add', { address: new URL(cam.url).host, username: cam.username, password: cam.password, httpsPort: cam.httpsPort, fingerprint: cert.value.fingerprint });
    if (!added.ok) throw new Error(added.error.message);
    expect(added.value.certificate).toMatchObject({ fingerprint: cert.value.fingerprint, trust: 'pin' });
    // The key is the app's own, as identity.cgi serves it (read here independently with curl -k).
    const id = JSON.parse((await curl(`https://127.0.0.1:${cam.httpsPort}/local/omnisight/identity.cgi`, { user: cam.username, pass: cam.password, extra: ['-k'] })).body.toString()) as { key: string; publicKey: string };
    expect(added.value).toMatchObject({ keyId: id.key, publicKey: id.publicKey });
    // The swarm knows it: the fleet registered the enrolled key with the coordinator.
    expect(h.fleet.keyFor(cam.serial)).toMatchObject({ keyId: id.key, publicKey: id.publicKey });
  });

  it('stops at a certificate other than the pinned one, reads nothing, and asks; trusting the new one enrols again', async () => {
    const c = h.fleet.registry.list()[0]!;
    const real = c.certificate!.fingerprint;
    const key = h.fleet.registry.keyOf(c.id)!;
    // As if the camera presented another certificate than the one pinned (a reset, or someone in between).
    const other = real.replace(/^../, real.startsWith('AA') ? 'BB' : 'AA');
    h.fleet.registry.update(c.id, { certFingerprint: other, publicKey: null, keyId: null });
    const again = await call<Camera>('fleet.update', { id: c.id, httpsPort: c.httpsPort });
    if (!again.ok) throw new Error(again.error.message);
    expect(again.value.keyId).toBeNull(); // nothing was read over the untrusted session
    expect(again.value.certificateChanged).toMatchObject({ fingerprint: real });
    expect(h.fleet.status(c.id)?.lastError).toMatch(/certificate .* changed/);
    const critical = h.db.prepare("SELECT message FROM audit_events WHERE kind = 'camera.certificate_changed'").all() as { message: string }[];
    expect(critical.map((x) => x.message).join()).toContain(real);
    // Trusting a fingerprint the camera does not present does nothing.
    expect(await call('fleet.trustCertificate', { id: c.id, fingerprint: other })).toMatchObject({ ok: false, error: { code: 'conflict' } });
    const trusted = await call<Camera>('fleet.trustCertificate', { id: c.id, fingerprint: real });
    if (!trusted.ok) throw new Error(trusted.error.message);
    expect(trusted.value).toMatchObject({ certificate: { fingerprint: real, trust: 'pin' }, certificateChanged: null, keyId: key.keyId, publicKey: key.publicKey });
  });

  it('rotates the key only on request, over the pinned channel, and the registry follows', async () => {
    const c = h.fleet.registry.list()[0]!;
    const before = c.keyId!;
    const r = await call<Camera>('fleet.rotateKey', { id: c.id });
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.keyId).not.toBe(before);
    const cam = sim.cameras[0]!;
    const id = JSON.parse((await curl(`https://127.0.0.1:${cam.httpsPort}/local/omnisight/identity.cgi`, { user: cam.username, pass: cam.password, extra: ['-k'] })).body.toString()) as { key: string };
    expect(r.value.keyId).toBe(id.key);
  });

  it('accepts a CA the user trusts only as PEM', async () => {
    expect(await call('fleet.trustedCas', { pems: ['not a certificate'] })).toMatchObject({ ok: false, error: { code: 'invalid_input' } });
    expect(await call('fleet.trustedCas', {})).toMatchObject({ ok: true, value: { cas: [] } });
  });
});
