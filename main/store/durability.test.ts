// Acknowledged means committed: kill the server with SIGKILL right after it acknowledged writes,
// then open its database and find every one of them.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { tempDir } from '../app/testkit';
import { openDatabase } from './database';

let child: ChildProcess | undefined;
afterEach(() => child?.kill('SIGKILL'));

async function startServe(dataDir: string): Promise<{ url: string; token: string; proc: ChildProcess }> {
  const root = path.resolve(__dirname, '../..');
  const proc = spawn(process.execPath, ['--import', 'tsx', 'main/serve.ts', '--port', '0', '--data-dir', dataDir, '--no-demo'], {
    cwd: root,
    env: { ...process.env, OMNISIGHT_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child = proc;
  const line = await new Promise<string>((resolve, reject) => {
    const rl = readline.createInterface({ input: proc.stdout! });
    rl.on('line', (l) => l.startsWith('OMNISIGHT_URL=') && resolve(l));
    proc.on('exit', (code) => reject(new Error(`serve exited with ${code}`)));
  });
  const url = new URL(line.slice('OMNISIGHT_URL='.length));
  return { url: `ws://${url.host}/ws`, token: new URLSearchParams(url.hash.slice(1)).get('token')!, proc };
}

describe('durability', () => {
  it('loses no acknowledged write when the process is killed with SIGKILL', async () => {
    const dataDir = tempDir();
    const { url, token, proc } = await startServe(dataDir);
    const ws = new WebSocket(url, ['omnisight.v1', `token.${token}`]);
    await new Promise((r) => ws.on('open', r));

    // Pipeline 300 writes; kill the process the moment the 150th acknowledgement arrives.
    const acked: number[] = [];
    const killed = new Promise<void>((resolve) => {
      ws.on('message', (d) => {
        const m = JSON.parse(String(d));
        if (m.type !== 'result') return;
        expect(m.ok).toBe(true);
        acked.push(m.id);
        if (acked.length === 150) {
          proc.kill('SIGKILL');
          resolve();
        }
      });
    });
    for (let i = 1; i <= 300; i++) ws.send(JSON.stringify({ type: 'call', id: i, method: 'settings.set', input: { mqttUsername: `user-${i}` } }));
    await killed;
    await new Promise((r) => proc.on('exit', r));
    ws.terminate();

    const { db } = openDatabase({ dir: dataDir });
    const row = db.prepare("SELECT value FROM settings WHERE key = 'mqttUsername'").get() as { value: string };
    db.close();
    const stored = Number(JSON.parse(row.value).slice('user-'.length));
    // Calls run in order, so the stored value is at least the last one acknowledged before the kill.
    expect(stored).toBeGreaterThanOrEqual(Math.max(...acked));
  });
});
