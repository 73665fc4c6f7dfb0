import { spawn } from 'node:child_process';
import path from 'node:path';
import { createPublicKey, verify } from 'node:crypto';
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import { startEmbeddedBroker } from '../mqtt';
import { curl } from './testkit';

const root = path.resolve(__dirname, '../..');

describe('npm run camsim', () => {
  it('prints one JSON line per camera, serves them, and exits 0 on SIGTERM', async () => {
    // Run tsx's CLI through node directly so the signal reaches the script's own process.
    const child = spawn(process.execPath, [path.join(root, 'node_modules/tsx/dist/cli.mjs'), 'scripts/camsim.ts', '--cameras', '2', '--seed', '4'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    const lines = await new Promise<string[]>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no output: ${out}`)), 15_000);
      child.stdout.on('data', () => {
        const l = out.split('\n').filter((x) => x.startsWith('{'));
        if (l.length >= 2) {
          clearTimeout(timer);
          resolve(l);
        }
      });
    });
    const cams = lines.map((l) => JSON.parse(l) as Record<string, string>);
    for (const c of cams) {
      expect(Object.keys(c)).toEqual(['id', 'url', 'httpsPort', 'username', 'password', 'serial', 'model']);
      expect(c.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(Number(c.httpsPort)).toBeGreaterThan(0);
    }
    const r = await curl(`${cams[0]!.url}/axis-cgi/param.cgi?action=list&group=Brand.ProdNbr`, { user: cams[0]!.username, pass: cams[0]!.password });
    expect(r.body.toString()).toBe('root.Brand.ProdNbr=Q1656\r\n');
    const s = await curl(`https://127.0.0.1:${cams[0]!.httpsPort}/axis-cgi/param.cgi?action=list&group=Brand.ProdNbr`, { user: cams[0]!.username, pass: cams[0]!.password, extra: ['-k'] });
    expect(s.body.toString()).toBe('root.Brand.ProdNbr=Q1656\r\n');
    const code = await new Promise<number | null>((resolve) => {
      child.on('exit', (c) => resolve(c));
      child.kill('SIGTERM');
    });
    expect(code).toBe(0);
  });

  it('refuses unknown options with exit code 2', async () => {
    const child = spawn(process.execPath, [path.join(root, 'node_modules/tsx/dist/cli.mjs'), 'scripts/camsim.ts', '--cams', '2'], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(2);
    expect(err).toContain('unknown option --cams');
  });

  it('--lite: cameras connect to the broker at start and print the key their messages verify under (bench fleets)', async () => {
    const broker = await startEmbeddedBroker();
    const sub = mqtt.connect(broker.url);
    await new Promise<void>((r) => sub.once('connect', () => r()));
    await sub.subscribeAsync('axis/+/omnisight/heartbeat');
    const beats = new Map<string, { env: Record<string, string | number> }>();
    sub.on('message', (_t, p) => {
      const env = JSON.parse(p.toString()) as Record<string, string | number>;
      beats.set(env.camera as string, { env });
    });
    const child = spawn(process.execPath, [path.join(root, 'node_modules/tsx/dist/cli.mjs'), 'scripts/camsim.ts', '--cameras', '3', '--seed', '5', '--lite', '--fps', '5', '--broker', broker.url], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let out = '';
      child.stdout.on('data', (b: Buffer) => (out += b.toString()));
      const deadline = Date.now() + 20_000;
      while ((out.split('\n').filter((x) => x.startsWith('{')).length < 3 || beats.size < 3) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      const cams = out.split('\n').filter((x) => x.startsWith('{')).map((l) => JSON.parse(l) as { serial: string; key: string; publicKey: string });
      expect(cams).toHaveLength(3);
      for (const c of cams) {
        const { env } = beats.get(c.serial)!;
        expect(env.key).toBe(c.key);
        const pub = createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(c.publicKey, 'base64')]), format: 'der', type: 'spki' });
        const input = ['omnisight.v2', env.camera, env.epoch, env.seq, env.sent, env.kind, env.key, env.body].join('\n');
        expect(verify(null, Buffer.from(input), pub, Buffer.from(env.sig as string, 'base64'))).toBe(true);
        expect(JSON.parse(env.body as string)).toMatchObject({ fps_camera: 5, model: { name: 'omnisight.head.confirm.v1', version: 0 } });
      }
    } finally {
      await new Promise<void>((resolve) => {
        child.on('exit', () => resolve());
        child.kill('SIGTERM');
      });
      await sub.endAsync();
      await broker.close();
    }
  }, 30_000);
});
