// The queued write path: group commits by the writer thread, acknowledged = committed, and
// subscribers see a room's messages in id order even when main-thread posts interleave.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Message } from '../../preload/contract';
import { createEventBus } from '../kernel/bus';
import { openDatabase, type Db } from '../store';
import { createRoomsService, type RoomsService } from './index';

const agent = (n: number) => ({ kind: 'agent' as const, id: `agent:${n}`, name: `agent ${n}` });
const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanup.splice(0).reverse()) c();
});

function open(writer: 'worker' | 'inline'): { rooms: RoomsService; db: Db; dir: string; published: Message[] } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rooms-writer-'));
  const { db } = openDatabase({ dir });
  const bus = createEventBus();
  const published: Message[] = [];
  bus.subscribe('rooms.message', (m) => published.push(m));
  const rooms = createRoomsService({ db, bus, now: () => 1_700_000_000_000, dataDir: dir, writer });
  cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }), () => db.close(), () => rooms.close());
  return { rooms, db, dir, published };
}

describe.each(['worker', 'inline'] as const)('queued writes (%s)', (mode) => {
  it('commits a burst in few transactions, resolves each post with exactly what was stored, and only after the commit', async () => {
    const { rooms, db, published } = open(mode);
    const room = rooms.createRoom({ name: 'Load' });
    const parent = rooms.postMessage({ roomId: room.id, author: agent(0), text: 'parent' });
    published.length = 0;
    const posts = Array.from({ length: 300 }, (_, i) =>
      rooms.postQueued({ roomId: room.id, author: agent(i % 5), text: `m${i} @Bob`, replyTo: i % 7 === 0 ? parent.id : undefined, channel: i % 2 ? 'ops' : undefined }),
    );
    const read = db.prepare('SELECT text FROM room_messages WHERE id = ?');
    // Each acknowledgement finds its row already in the database (read through another connection in worker mode).
    const acked = await Promise.all(posts.map((p) => p.then((m) => ({ m, stored: (read.get(m.id) as { text: string } | undefined)?.text }))));
    for (const { m, stored } of acked) expect(stored).toBe(m.text);
    for (const { m } of acked) expect(m).toEqual(rooms.getMessage(m.id));
    expect(acked.map(({ m }) => m.text)).toEqual(posts.map((_, i) => `m${i} @Bob`));
    const stats = rooms.writeStats();
    expect(stats).toMatchObject({ posts: 300, mode });
    expect(stats.commits).toBeLessThan(30); // grouped, not one commit per message
    expect(published.map((m) => m.id)).toEqual(acked.map(({ m }) => m.id).sort((a, b) => a - b));
    expect(rooms.listMessages({ roomId: room.id, channel: 'ops', limit: 500 }).messages).toHaveLength(150);
  });

  it('refuses a bad message at once without touching the others, and carries delivery marks on the next commit', async () => {
    const { rooms } = open(mode);
    const a = rooms.createRoom({ name: 'A' });
    const b = rooms.createRoom({ name: 'B' });
    const inB = rooms.postMessage({ roomId: b.id, author: agent(1), text: 'elsewhere' });
    const ok = rooms.postQueued({ roomId: a.id, author: agent(1), text: 'fine' });
    await expect(rooms.postQueued({ roomId: a.id, author: agent(1), text: 'bad', replyTo: inB.id })).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(rooms.postQueued({ roomId: 'r_nothere', author: agent(1), text: 'x' })).rejects.toMatchObject({ code: 'not_found' });
    const m = await ok;
    rooms.recordDeliveryLater(agent(2).id, [{ roomId: a.id, upTo: m.id }, { roomId: 'r_gone', upTo: 5 }]);
    await rooms.flushWrites();
    expect(rooms.deliveries(m.id)).toEqual([{ memberId: agent(2).id, at: 1_700_000_000_000 }]);
  });

  it('publishes in id order when main-thread posts interleave with batches under way', async () => {
    const { rooms, published } = open(mode);
    const room = rooms.createRoom({ name: 'Order' });
    const all: Promise<Message>[] = [];
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 10; i++) all.push(rooms.postQueued({ roomId: room.id, author: agent(i), text: `q${round}.${i}` }));
      await new Promise((r) => setImmediate(r)); // let a batch go to the writer
      rooms.postMessage({ roomId: room.id, author: agent(99), text: `main ${round}` });
    }
    await Promise.all(all);
    await rooms.flushWrites();
    const ids = published.map((m) => m.id);
    expect(ids).toHaveLength(220);
    expect(ids).toEqual([...ids].sort((x, y) => x - y));
    expect(new Set(ids).size).toBe(220);
  });
});

it('an acknowledged message survives the process being killed (worker writer, SIGKILL)', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rooms-kill-'));
  cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  {
    const { db } = openDatabase({ dir });
    createRoomsService({ db, bus: createEventBus(), now: Date.now, dataDir: dir }).createRoom({ name: 'Kill' });
    db.close();
  }
  // A child process posts in a loop and prints each acknowledged id; we kill it mid-stream.
  const { spawn } = await import('node:child_process');
  const script = `
    const { openDatabase } = require(${JSON.stringify(path.resolve(__dirname, '../store'))});
    const { createRoomsService } = require(${JSON.stringify(path.resolve(__dirname, './index'))});
    const { createEventBus } = require(${JSON.stringify(path.resolve(__dirname, '../kernel/bus'))});
    const { db } = openDatabase({ dir: ${JSON.stringify(dir)} });
    const rooms = createRoomsService({ db, bus: createEventBus(), now: Date.now, dataDir: ${JSON.stringify(dir)} });
    const roomId = rooms.listRooms()[0].id;
    let n = 0;
    const lane = () => rooms.postQueued({ roomId, author: { kind: 'agent', id: 'agent:k', name: 'k' }, text: 'k' + n++ }).then((m) => { process.stdout.write(m.id + ':' + m.text + '\\n'); lane(); });
    for (let i = 0; i < 20; i++) lane();
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise<void>((resolve) => {
    const check = setInterval(() => {
      if (out.split('\n').filter((l) => /^\d+:k\d+$/.test(l)).length > 400) {
        clearInterval(check);
        child.kill('SIGKILL');
        resolve();
      }
    }, 5);
  });
  await new Promise((r) => child.once('exit', r));
  const acked = out.split('\n').filter((l) => /^\d+:k\d+$/.test(l));
  expect(acked.length).toBeGreaterThan(400);
  const { db } = openDatabase({ dir });
  const get = db.prepare('SELECT text FROM room_messages WHERE id = ?');
  const lost = acked.filter((l) => {
    const [id, text] = l.split(':');
    return (get.get(Number(id)) as { text: string } | undefined)?.text !== text;
  });
  db.close();
  expect(lost).toEqual([]);
}, 30_000);
