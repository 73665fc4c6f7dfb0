// One contract call over the same authenticated WebSocket the renderer uses (what a scenario reads
// to check what the app promises, beside what the page shows).
import WebSocket from 'ws';
import type { Served } from './serve';

export async function callApp<T>(server: Pick<Served, 'origin' | 'token'>, method: string, input: unknown): Promise<T> {
  const ws = new WebSocket(`${server.origin.replace('http', 'ws')}/ws`, ['omnisight.v1', `token.${server.token}`], { origin: server.origin });
  try {
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return await new Promise<T>((resolve, reject) => {
      ws.on('message', (data, binary) => {
        if (binary) return;
        const msg = JSON.parse(String(data)) as { type: string; id?: number; ok?: boolean; value?: T; error?: { message: string } };
        if (msg.type !== 'result' || msg.id !== 1) return;
        if (msg.ok) resolve(msg.value as T);
        else reject(new Error(msg.error?.message ?? 'call failed'));
      });
      ws.send(JSON.stringify({ type: 'call', id: 1, method, input }));
    });
  } finally {
    ws.close();
  }
}
