import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
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
});
