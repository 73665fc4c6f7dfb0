import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createAuditLog } from '../audit';
import { createEventBus } from '../kernel/bus';
import { openDatabase } from '../store';
import { createSwarmService, createVerifyPool } from './index';
import crypto from 'node:crypto';
import { sealEnvelope, simKey } from './sim/keys';
import { deriveSessionKey, desktopSessionKey, macInput, x25519Private, x25519PublicRaw } from './session';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
const CAM = 'B8A44F000001';
const T = 1_795_000_000_000;

describe('verification in worker threads', () => {
  it('checks v3 MACs in the workers with the sessions the swarm shared; a verdict for an older session is checked again here', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pool-v3-'));
    dirs.push(dir);
    const { db } = openDatabase({ dir });
    const bus = createEventBus();
    const d = desktopSessionKey(crypto.createHash('sha256').update('pool-v3').digest());
    const swarm = createSwarmService({ db, bus, log: pino({ level: 'silent' }), now: () => T, audit: createAuditLog({ db, bus, now: () => T }), every: () => () => {}, sessionKey: d });
    const k = simKey(CAM);
    swarm.registerCamera({ serial: CAM, keyId: k.keyId, publicKey: k.publicKey, coverage: { zones: [], toGround: () => ({ x: 0, y: 0 }) } });
    const pool = createVerifyPool({ size: 1, entry: path.join(__dirname, 'verify-worker.ts') });
    const shared: number[] = [];
    swarm.coordinator.verifier.onSession((sh) => {
      shared.push(sh.gen);
      pool.setSessions([sh]);
    });
    try {
      pool.setKeys([[CAM, { keyId: k.keyId, publicKey: k.publicKey }]]);
      const body = JSON.stringify({ frame: { timestamp: T, observations: [] } });
      let seq = 0;
      const open = (n: number) => {
        const e = x25519Private(crypto.randomBytes(32));
        const payload = Buffer.from(sealEnvelope({ camera: CAM, seq: ++seq, sent: T, kind: 'session', key: k.keyId, body: JSON.stringify({ session: n, desktopKey: d.id, ephemeral: x25519PublicRaw(e).toString('base64') }) }, k.privateKey));
        return { payload, topic: `axis/${CAM}/omnisight/session`, k: deriveSessionKey(e, d.publicRaw, CAM, 1, n) };
      };
      const v3 = (n: number, key: Buffer) => {
        const f = { camera: CAM, epoch: 1, seq: ++seq, sent: T, kind: 'detections' as const, key: k.keyId, session: n, body };
        return { payload: Buffer.from(JSON.stringify({ v: 3, ...f, mac: crypto.createHmac('sha256', key).update(macInput(f)).digest('base64') })), topic: `axis/${CAM}/omnisight/detections` };
      };
      const ingest = async (items: { payload: Buffer; topic: string }[]) => {
        const verdicts = await pool.verify(items.map(({ payload, topic }) => ({ payload, topic })));
        return { verdicts, results: swarm.ingestChecked(verdicts.map((verdict, i) => ({ verdict, receivedAt: T, topic: items[i]!.topic, bytes: 1 }))) };
      };
      const s1 = open(1);
      const first = await ingest([s1, v3(1, s1.k)]); // the worker has no session yet: the MAC is checked on this thread
      expect(first.verdicts[1]!.mac).toBeUndefined();
      expect(first.results.map((r) => (r.accepted ? 'ok' : r.label))).toEqual(['ok', 'ok']);
      const second = await ingest([v3(1, s1.k), v3(1, crypto.randomBytes(32))]);
      expect(second.verdicts.map((v) => v.mac)).toEqual([{ valid: true, gen: shared[0] }, { valid: false, gen: shared[0] }]);
      expect(second.results.map((r) => (r.accepted ? 'ok' : r.label))).toEqual(['ok', 'bad mac']);
      // A worker's verdict for session generation 1 does not count once session 2 replaced it.
      const s2 = open(2);
      const stale = (await pool.verify([v3(2, crypto.randomBytes(32))].map(({ payload, topic }) => ({ payload, topic }))))[0]!;
      swarm.ingestChecked([{ verdict: (await pool.verify([{ payload: s2.payload, topic: s2.topic }]))[0]!, receivedAt: T, topic: s2.topic, bytes: 1 }]);
      const forgedTrue = { ...stale, mac: { valid: true, gen: shared[0]! } };
      const [r] = swarm.ingestChecked([{ verdict: forgedTrue, receivedAt: T, topic: `axis/${CAM}/omnisight/detections`, bytes: 1 }]);
      expect(r!.accepted ? 'ok' : r!.label).toBe('bad mac');
    } finally {
      await pool.close();
      swarm.close();
      db.close();
    }
  });

  it('parses and checks signatures off the main thread; the swarm does the rest with the same verdicts as inline', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pool-'));
    dirs.push(dir);
    const { db } = openDatabase({ dir });
    const bus = createEventBus();
    const swarm = createSwarmService({ db, bus, log: pino({ level: 'silent' }), now: () => T, audit: createAuditLog({ db, bus, now: () => T }), every: () => () => {} });
    const k = simKey(CAM);
    swarm.registerCamera({ serial: CAM, keyId: k.keyId, publicKey: k.publicKey, coverage: { zones: [], toGround: () => ({ x: 0, y: 0 }) } });
    const pool = createVerifyPool({ size: 2, entry: path.join(__dirname, 'verify-worker.ts') });
    try {
      pool.setKeys([[CAM, { keyId: k.keyId, publicKey: k.publicKey }]]);
      const body = JSON.stringify({ frame: { timestamp: T, observations: [] } });
      const msg = (seq: number, signer = k) => Buffer.from(sealEnvelope({ camera: CAM, seq, sent: T, kind: 'detections', key: k.keyId, body }, signer.privateKey));
      const topic = `axis/${CAM}/omnisight/detections`;
      const items = [msg(1), msg(2, simKey('forger')), Buffer.from('{"v":2'), msg(1), msg(3)].map((payload) => ({ payload, topic }));
      const verdicts = await pool.verify(items);
      expect(verdicts.map((v) => (v.parse.ok ? (v.sig?.valid ? 'signed' : 'forged') : v.parse.reason))).toEqual(['signed', 'forged', 'malformed', 'signed', 'signed']);
      // The payload text (kept as proof) is exactly what arrived, though the worker does not send it back.
      expect(verdicts.map((v) => (v.parse.ok ? v.parse.parsed.raw : null))).toEqual(items.map((it, i) => (i === 2 ? null : it.payload.toString())));
      const rs = swarm.ingestChecked(verdicts.map((verdict, i) => ({ verdict, receivedAt: T, topic, bytes: items[i]!.payload.length })));
      expect(rs.map((r) => (r.accepted ? 'ok' : r.label))).toEqual(['ok', 'bad signature', 'malformed', 'replay (duplicate)', 'ok']);
      // A worker verdict made with a key the desktop no longer holds is not trusted: checked again here.
      const k2 = simKey('rotated');
      swarm.registerCamera({ serial: CAM, keyId: k.keyId, publicKey: k2.publicKey, coverage: { zones: [], toGround: () => ({ x: 0, y: 0 }) } });
      const [stale] = await pool.verify([{ payload: msg(4), topic }]);
      expect(stale!.sig?.valid).toBe(true);
      const [r] = swarm.ingestChecked([{ verdict: stale!, receivedAt: T, topic, bytes: 1 }]);
      expect(r!.accepted ? 'ok' : r!.label).toBe('bad signature');
    } finally {
      await pool.close();
      swarm.close();
      db.close();
    }
  });

  it('takes a batch as one transferred buffer (payloads sliced out of a larger chunk intact) and skips the signature outside the clock tolerance', async () => {
    const k = simKey(CAM);
    const pool = createVerifyPool({ size: 1, entry: path.join(__dirname, 'verify-worker.ts') });
    try {
      pool.setKeys([[CAM, { keyId: k.keyId, publicKey: k.publicKey }]]);
      const body = JSON.stringify({ frame: { timestamp: T, observations: [] } });
      const a = sealEnvelope({ camera: CAM, seq: 1, sent: T, kind: 'detections', key: k.keyId, body }, k.privateKey);
      const b = sealEnvelope({ camera: CAM, seq: 2, sent: T, kind: 'detections', key: k.keyId, body }, k.privateKey);
      // As mqtt.js hands them over: views into one socket chunk, with bytes before, between and after.
      const chunk = Buffer.from(`xx${a}yyy${b}zz`);
      const pa = chunk.subarray(2, 2 + Buffer.byteLength(a));
      const pb = chunk.subarray(2 + Buffer.byteLength(a) + 3, chunk.length - 2);
      const topic = `axis/${CAM}/omnisight/detections`;
      const verdicts = await pool.verify(
        [
          { payload: pa, topic, receivedAt: T + 1_000 },
          { payload: pb, topic, receivedAt: T + 6_000 }, // 6 s late: refused for the clock, no signature work
          { payload: pb, topic }, // no receipt time: checked
        ],
        5_000,
      );
      expect(verdicts.map((v) => [v.parse.ok, v.sig?.valid])).toEqual([
        [true, true],
        [true, undefined],
        [true, true],
      ]);
      expect(chunk.toString()).toBe(`xx${a}yyy${b}zz`); // the caller's buffers are not detached
      if (process.platform === 'linux') expect((await pool.cpuMs())[0]).toBeGreaterThan(0); // the worker's own thread CPU
    } finally {
      await pool.close();
    }
  });

  it('a worker that cannot start fails every call at once instead of leaving it waiting', async () => {
    const pool = createVerifyPool({ size: 1, entry: path.join(__dirname, 'no-such-worker.js') });
    try {
      await new Promise((r) => setTimeout(r, 300));
      await expect(pool.verify([{ payload: Buffer.from('{}') }])).rejects.toThrow();
    } finally {
      await pool.close();
    }
  });
});
