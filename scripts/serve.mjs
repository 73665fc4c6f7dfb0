// npm run serve -- [--port N] [--data-dir DIR] [--no-demo]: builds when needed, then runs browser mode.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { ensureBuilt } from './lib/build.mjs';

const root = path.resolve(import.meta.dirname, '..');
await ensureBuilt();
const child = spawn(process.execPath, [path.join(root, 'out/main/serve.js'), ...process.argv.slice(2)], { stdio: 'inherit' });
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 0 : 1)));
