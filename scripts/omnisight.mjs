#!/usr/bin/env node
// Launcher for `npx omnisight …` in a checkout: runs the built CLI when there is one, otherwise the
// TypeScript source through tsx. stdio is inherited, so `omnisight mcp` speaks MCP on it directly.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const built = path.join(root, 'out', 'main', 'cli.js');
const args = fs.existsSync(built)
  ? [built, ...process.argv.slice(2)]
  : ['--import', import.meta.resolve('tsx'), path.join(root, 'scripts', 'omnisight.ts'), ...process.argv.slice(2)];

const child = spawn(process.execPath, args, { stdio: 'inherit' });
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => {
  if (signal) process.kill(process.pid, signal);
  else process.exit(code ?? 1);
});
