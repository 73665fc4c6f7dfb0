import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildV3Vectors, deriveSessionKey, desktopSessionKey, loadDesktopSessionKey, macInput, macValid, SESSION_SECRET_NAME, x25519Private, x25519Public, x25519PublicRaw } from './session';

const hex = (s: string): Buffer => Buffer.from(s, 'hex');

describe('envelope v3 session keys', () => {
  it('X25519 raw-key handling gives RFC 7748 §6.1 shared secret', () => {
    const a = x25519Private(hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a'));
    expect(x25519PublicRaw(a).toString('hex')).toBe('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a');
    const shared = crypto.diffieHellman({ privateKey: a, publicKey: x25519Public(hex('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f')) });
    expect(shared.toString('hex')).toBe('4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742');
  });

  it('docs/v3-vectors.json is what scripts/v3-vectors.ts writes (run npm run v3:vectors after a protocol change)', () => {
    const file = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../docs/v3-vectors.json'), 'utf8')) as unknown;
    expect(file).toEqual(buildV3Vectors());
  });

  it('the vectors hold when recomputed by hand: K by HKDF over X25519 from the camera side, the MAC by HMAC over the input', () => {
    const v = buildV3Vectors() as { desktop: { secret: string; publicB64: string; id: string }; sessions: { serial: string; epoch: number; session: number; ephemeralSecret: string; K: string; mac: { input: string; macB64: string } }[] };
    expect(v.desktop.id).toBe(crypto.createHash('sha256').update(Buffer.from(v.desktop.publicB64, 'base64')).digest('hex').slice(0, 16));
    for (const s of v.sessions) {
      const e = x25519Private(hex(s.ephemeralSecret));
      const ikm = crypto.diffieHellman({ privateKey: e, publicKey: x25519Public(Buffer.from(v.desktop.publicB64, 'base64')) });
      const k = Buffer.from(crypto.hkdfSync('sha256', ikm, `${s.serial}\n${s.epoch}\n${s.session}`, 'omnisight.v3.session', 32));
      expect(k.toString('hex')).toBe(s.K);
      expect(crypto.createHmac('sha256', k).update(s.mac.input).digest('base64')).toBe(s.mac.macB64);
      expect(s.mac.input.split('\n')[0]).toBe('omnisight.v3');
    }
    // Sessions differ in K even for one camera and epoch.
    expect(new Set(v.sessions.map((s) => s.K)).size).toBe(v.sessions.length);
  });

  it('a MAC check fails on any changed field and on a wrong K', () => {
    const k = crypto.randomBytes(32);
    const f = { camera: 'ACCC8E000001', epoch: 3, seq: 9, sent: 1_000, kind: 'detections', key: '0123456789abcdef', session: 2, body: '{}' };
    const mac = crypto.createHmac('sha256', k).update(macInput(f)).digest('base64');
    expect(macValid(k, { ...f, mac })).toBe(true);
    expect(macValid(k, { ...f, seq: 10, mac })).toBe(false);
    expect(macValid(k, { ...f, session: 3, mac })).toBe(false);
    expect(macValid(crypto.randomBytes(32), { ...f, mac })).toBe(false);
    expect(macValid(k, { ...f, mac: mac.slice(0, 20) })).toBe(false);
  });

  it('refuses a low-order ephemeral key (all-zero shared secret)', () => {
    const d = x25519Private(crypto.randomBytes(32));
    expect(() => deriveSessionKey(d, Buffer.alloc(32), 'ACCC8E000001', 1, 1)).toThrow();
  });

  it('keeps D_sk in the secret store across restarts and creates it once', () => {
    const store = new Map<string, string>();
    const secrets = { get: (n: string) => store.get(n), set: (n: string, v: string) => void store.set(n, v) };
    const a = loadDesktopSessionKey(secrets);
    const b = loadDesktopSessionKey(secrets);
    expect(b.id).toBe(a.id);
    expect(store.size).toBe(1);
    expect(desktopSessionKey(Buffer.from(store.get(SESSION_SECRET_NAME)!, 'base64')).id).toBe(a.id);
    expect(JSON.parse(a.announcement())).toEqual({ v: 1, key: a.publicRaw.toString('base64'), id: a.id });
    // Unreadable in this mode (another scheme) or corrupt: a new key, stored, instead of a failed start.
    const unreadable = { get: () => { throw new Error('stored by app mode'); }, set: (n: string, v: string) => void store.set(n, v) };
    const c = loadDesktopSessionKey(unreadable);
    expect(c.id).not.toBe(a.id);
    expect(loadDesktopSessionKey(secrets).id).toBe(c.id);
    store.set(SESSION_SECRET_NAME, 'c2hvcnQ=');
    expect(loadDesktopSessionKey(secrets).id).not.toBe(c.id);
  });
});
