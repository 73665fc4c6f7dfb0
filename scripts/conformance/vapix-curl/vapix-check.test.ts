// The simulated camera against an independent VAPIX client: vapix_check.py, written in Python's
// standard library from the interface reference alone (its own Digest, its own multipart and MJPEG
// reading, its own .eap packages). Three cameras: AXIS OS 12 (checked in depth, apps installed and
// removed), a 10.12 LTS camera (API discovery asks for a login there) and an 11.1 camera (no
// config.cgi before 11.2). Every check must pass; the divergences the project keeps on purpose are
// listed by name, so a new one cannot hide among them.
//
// Needs a python3 (Debian's /usr/bin/python3 on CI; nothing beyond the standard library); skips
// with the reason when there is none.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulatedFleet, type SimCameraInfo, type SimFleet } from '../../../main/camsim';

const HERE = path.dirname(new URL(import.meta.url).pathname);
const CHECK = path.join(HERE, 'vapix_check.py');
const PYTHON = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const probe = spawnSync(PYTHON, ['-c', 'import http.client, hashlib, tarfile, gzip'], { encoding: 'utf8' });
const missing = probe.error ? `${PYTHON} not found` : probe.status !== 0 ? `${PYTHON} cannot import its standard library: ${probe.stderr.trim()}` : null;

interface Result {
  check?: string;
  ok?: boolean;
  detail?: string;
  known?: boolean;
  summary?: { passed: number; failed: number; known: string[]; seconds: number };
}

const cameraConf = (c: SimCameraInfo, firmware: string) => {
  const user = (role: string): [string, string] => {
    const u = c.users!.find((x) => x.role === role)!;
    return [u.username, u.password];
  };
  return { url: c.url, mac: c.mac, serial: c.serial, firmware, users: { administrator: user('administrator'), operator: user('operator'), viewer: user('viewer') } };
};

function run(confFile: string): Promise<{ code: number | null; results: Result[]; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(PYTHON, [CHECK, confFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, stderr: err, results: out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Result) }));
  });
}

describe.skipIf(missing !== null)(`VAPIX conformance of the simulator, checked from Python${missing ? ` (skipped: ${missing})` : ''}`, () => {
  const fleets: SimFleet[] = [];
  let dir: string;
  const firmware = { current: '12.0.91', lts: '10.12.236', old: '11.1.50' } as const;
  const conf: Record<string, unknown> = {};

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vapix-check-'));
    for (const [name, fw] of Object.entries(firmware)) {
      const f = await startSimulatedFleet({ cameras: 1, seed: 71, apps: 'agent', firmware: fw });
      fleets.push(f);
      conf[name] = cameraConf(f.cameras[0]!, fw);
    }
  });
  afterAll(async () => {
    for (const f of fleets) await f.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('passes every check, with only the known divergences', async () => {
    const file = path.join(dir, 'cameras.json');
    fs.writeFileSync(file, JSON.stringify(conf));
    const { code, results, stderr } = await run(file);
    expect(stderr).toBe('');
    const checks = results.filter((r) => r.check !== undefined);
    const failed = checks.filter((r) => !r.ok).map((r) => `${r.check}: ${r.detail}`);
    expect(failed).toEqual([]);
    expect(code).toBe(0);
    const summary = results.at(-1)!.summary!;
    // Dozens of checks ran (a family that crashed early would show as a failure, and as fewer checks).
    expect(summary.passed).toBeGreaterThanOrEqual(90);
    // The simulator stamps each JPEG's capture time in a COM segment: the desktop's feed latency
    // figure reads it (main/helper/mjpeg.ts). A real camera has no such segment.
    expect(summary.known).toEqual(['known: JPEG COM segment omnisight-ts=<ms>']);
    for (const name of ['auth: right password on an unknown (stale) nonce -> 401 stale=true', 'upload.cgi: manifest without schemaVersion -> Error: 29', 'mjpeg: part headers are exactly Content-Type and Content-Length (no X-Frame-Timestamp)']) {
      expect(checks.find((r) => r.check === name), name).toMatchObject({ ok: true });
    }
  }, 60_000);
});
