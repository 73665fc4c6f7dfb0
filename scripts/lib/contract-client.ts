// A contract client over the same authenticated WebSocket the renderer uses, for benchmarks that
// drive a running app: calls by id (several in flight) and the binary frames the app pushes.
import WebSocket from 'ws';

export type ContractClient = Awaited<ReturnType<typeof contractClient>>;

export async function contractClient(origin: string, token: string) {
  const ws = new WebSocket(`${origin.replace('http', 'ws')}/ws`, ['omnisight.v1', `token.${token}`], { origin });
  await new Promise<void>((res, rej) => {
    ws.once('open', () => res());
    ws.once('error', rej);
  });
  let next = 1;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  ws.on('message', (data, binary) => {
    if (binary) return;
    const m = JSON.parse(data.toString()) as { type: string; id?: number; ok?: boolean; value?: unknown; error?: { message: string } };
    if (m.type !== 'result' || m.id === undefined) return;
    const p = pending.get(m.id);
    pending.delete(m.id);
    if (m.ok) p?.resolve(m.value);
    else p?.reject(new Error(m.error?.message));
  });
  return {
    onBinary: (l: (b: Buffer) => void) => ws.on('message', (data, binary) => binary && l(data as Buffer)),
    call: <T>(method: string, input: unknown): Promise<T> =>
      new Promise<T>((resolve, reject) => {
        const id = next++;
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
        ws.send(JSON.stringify({ type: 'call', id, method, input }));
      }),
    close: () => ws.close(),
  };
}
