// npm run serve -- [--port N] [--data-dir DIR] [--no-demo]: builds when needed, then runs browser mode.
import { spawn } from 'node:child_process';
import { ensureBuilt } from './lib/build.mjs';

await ensureBuilt();
const child = spawn(process.execPath, ['out/main/serve.js', ...process.argv.slice(2)], { stdio: 'inherit' });
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 0 : 1)));
