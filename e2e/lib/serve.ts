// Starts browser mode (the built out/main/serve.js) on an ephemeral port and a temporary data folder.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';

export const root = path.resolve(__dirname, '../..');

export interface Served {
  url: string;
  origin: string;
  token: string;
  dataDir: string;
  proc: ChildProcess;
  stderr: string[];
  stop(): Promise<number | null>;
}

export async function serve(opts: { dataDir?: string; args?: string[]; env?: Record<string, string> } = {}): Promise<Served> {
  const dataDir = opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'omnisight-e2e-'));
  const proc = spawn(process.execPath, [path.join(root, 'out/main/serve.js'), '--port', '0', '--data-dir', dataDir, ...(opts.args ?? [])], {
    cwd: root,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stderr: string[] = [];
  readline.createInterface({ input: proc.stderr! }).on('line', (l) => stderr.push(l));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not print OMNISIGHT_URL within 20 s:\n${stderr.join('\n')}`)), 20_000);
    readline.createInterface({ input: proc.stdout! }).on('line', (l) => {
      if (l.startsWith('OMNISIGHT_URL=')) {
        clearTimeout(timer);
        resolve(l.slice('OMNISIGHT_URL='.length));
      }
    });
    proc.on('exit', (code) => reject(new Error(`serve exited with ${code}:\n${stderr.join('\n')}`)));
  });
  const parsed = new URL(url);
  return {
    url,
    origin: parsed.origin,
    token: new URLSearchParams(parsed.hash.slice(1)).get('token')!,
    dataDir,
    proc,
    stderr,
    stop: () =>
      new Promise((resolve) => {
        if (proc.exitCode !== null) return resolve(proc.exitCode);
        proc.once('exit', (code) => resolve(code));
        proc.kill('SIGTERM');
      }),
  };
}
