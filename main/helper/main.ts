// The helper process entry (built to out/main/helper.js): owns camera I/O (VAPIX, MJPEG) so that slow or hostile devices never stall
// main. Started by main with utilityProcess.fork (app mode) or child_process.fork (browser mode);
// the logic lives in core.ts, this file only binds it to whichever parent channel exists.
import { createHelperCore } from './core';
import type { FromHelper } from './protocol';

type Port = {
  postMessage(m: unknown, transfer?: unknown[]): void;
  on(ev: 'message', l: (e: { data: unknown }) => void): void;
};
const utilityPort = (process as unknown as { parentPort?: Port }).parentPort;

const send = (m: FromHelper): void => {
  if (utilityPort) utilityPort.postMessage(m);
  else if (process.connected) process.send?.(m);
};

const core = createHelperCore({ send });

if (utilityPort) utilityPort.on('message', (e) => core.handle(e.data));
else {
  process.on('message', (m) => core.handle(m));
  // Main went away: nothing left to serve.
  process.on('disconnect', () => {
    core.close();
    process.exit(0);
  });
}
// A bad camera must never take the helper down; log and keep serving the others.
process.on('uncaughtException', (err) => send({ type: 'log', level: 'error', msg: `uncaught: ${err.message}` }));
process.on('unhandledRejection', (err) => send({ type: 'log', level: 'error', msg: `unhandled rejection: ${String(err)}` }));
send({ type: 'ready', pid: process.pid });
