// The helper process: owns camera I/O (VAPIX, MJPEG, packaging) so that slow or hostile devices
// never stall main. Started by main with utilityProcess.fork (app mode) or child_process.fork
// (browser mode). This entry answers a ping; the fleet capability adds its protocol here.
import { z } from 'zod';

const request = z.object({ type: z.literal('ping'), id: z.number() }).strict();

type Port = { postMessage(m: unknown): void; on(ev: 'message', l: (e: { data: unknown }) => void): void };
const utilityPort = (process as unknown as { parentPort?: Port }).parentPort;

const reply = (m: unknown): void => {
  if (utilityPort) utilityPort.postMessage(m);
  else process.send?.(m);
};

const handle = (raw: unknown): void => {
  const parsed = request.safeParse(raw);
  if (!parsed.success) {
    reply({ type: 'error', message: 'Unknown helper request' });
    return;
  }
  reply({ type: 'pong', id: parsed.data.id, pid: process.pid });
};

if (utilityPort) utilityPort.on('message', (e) => handle(e.data));
else process.on('message', handle);
reply({ type: 'ready', pid: process.pid });
