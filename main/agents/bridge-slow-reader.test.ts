// A reader that stops reading, on a real loopback socket: the bridge must notice before main's memory
// does, although Node's own write buffer (ws.bufferedAmount) stays near zero while the kernel's
// socket buffers soak up the first megabytes.
import crypto from 'node:crypto';
import type { Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Message } from '../../preload/contract';
import { AGENT_WS_PROTOCOL } from './bridge';
import { connectBridge, type BridgeClient } from './index';
import { startRig, type Rig } from './testkit';

const LIMIT = 256 * 1024;
let rig: Rig;
const closers: (() => unknown)[] = [];
beforeEach(async () => {
  rig = await startRig({ maxBehindBytes: LIMIT, realClock: true });
});
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
  await rig.stop();
});

const issue = () => rig.bridge.tokens.create({ name: `agent-${crypto.randomBytes(2).toString('hex')}`, scopes: ['rooms:read', 'rooms:write'], ratePerMinute: 100_000, burst: 10_000 });
const until = async (cond: () => boolean, ms = 5000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 5));
  }
};
const drops = (): { bufferedBytes: number; unackedBytes: number; limit: number }[] =>
  (rig.db.prepare("SELECT detail FROM audit_events WHERE kind = 'agents.refused' ORDER BY id").all() as { detail: string }[])
    .map((r) => JSON.parse(r.detail) as { reason: string; bufferedBytes: number; unackedBytes: number; limit: number })
    .filter((d) => d.reason === 'too far behind');

/** A raw agent socket (the protocol by hand) whose reading the test can stop. */
async function rawReader(roomId: string, ackEach: boolean) {
  const ws = new WebSocket(`${rig.url}/ws`, AGENT_WS_PROTOCOL, { headers: { Authorization: `Bearer ${issue().token}` }, perMessageDeflate: false });
  closers.push(() => ws.terminate());
  const got: number[] = [];
  let closed = false;
  ws.on('close', () => (closed = true));
  ws.on('error', () => undefined);
  ws.on('message', (data) => {
    const f = JSON.parse(data.toString()) as { type: string; frames?: { type: string; message?: { id: number } }[]; message?: { id: number } };
    for (const x of f.type === 'batch' ? f.frames! : [f])
      if (x.type === 'message') {
        got.push(x.message!.id);
        if (ackEach) ws.send(JSON.stringify({ type: 'ack', roomId, upTo: x.message!.id }));
      }
  });
  await new Promise((r) => ws.once('open', r));
  ws.send(JSON.stringify({ type: 'call', id: 1, op: 'rooms.subscribe', input: { roomId } }));
  // The socket under ws: pausing it stops reading, so the kernel's buffers fill, as with a hung agent.
  const socket = (ws as unknown as { _socket: Socket })._socket;
  return { ws, got, closed: () => closed, stopReading: () => socket.pause() };
}

async function poster(): Promise<BridgeClient> {
  const c = await connectBridge({ url: rig.url, token: issue().token });
  closers.push(() => c.close().catch(() => undefined));
  return c;
}
const post = (c: BridgeClient, roomId: string, n: number): Promise<Message[]> =>
  Promise.all(Array.from({ length: n }, (_, i) => c.call<Message>('rooms.post', { roomId, text: `${i} ${'x'.repeat(9000)}` })));

describe('the agent bridge and a reader that falls behind', () => {
  it('drops an acknowledging reader that stopped reading once it is LIMIT behind, while Node itself still holds almost nothing', async () => {
    const room = rig.rooms.createRoom({ name: 'Slow' });
    const alice = await poster();
    const slow = await rawReader(room.id, true);
    await post(alice, room.id, 1);
    await until(() => slow.got.length === 1); // read and acknowledged: this connection acknowledges
    await new Promise((r) => setTimeout(r, 50));
    slow.stopReading();

    // 1 MiB of messages: four times the bound, well inside loopback's kernel buffers.
    await post(alice, room.id, 115);
    await until(() => drops().length === 1);
    const [d] = drops();
    expect(d!.unackedBytes).toBeGreaterThan(LIMIT);
    // What a bound on Node's write buffer alone would have seen: not enough to act on.
    expect(d!.bufferedBytes).toBeLessThan(LIMIT);
    const connected = () => (rig.bridge.handlers['agents.connected']!({}, { transport: 'internal', peer: 't' }) as { agents: unknown[] }).agents.length;
    await until(() => connected() === 1); // only alice is left
    // Nothing is lost: every message is in the room for a resume.
    expect(rig.rooms.listMessages({ roomId: room.id, limit: 500 }).messages).toHaveLength(116);
  });

  it('never drops a reader that keeps up and acknowledges, whatever the volume', async () => {
    const room = rig.rooms.createRoom({ name: 'Fast' });
    const alice = await poster();
    const fast = await rawReader(room.id, true);
    await new Promise((r) => setTimeout(r, 50));
    // ~2 MiB in all, 8 × the bound, in bursts under it: the bound is on what is in flight, so a
    // burst larger than it between two acknowledgements would count as behind (the default, 8 MiB,
    // is 320 MB/s at client.ts's 25 ms acknowledgements).
    for (let round = 1; round <= 16; round++) {
      await post(alice, room.id, 15);
      await until(() => fast.got.length === 15 * round);
    }
    expect(drops()).toEqual([]);
    expect(fast.closed()).toBe(false);
  });
});
