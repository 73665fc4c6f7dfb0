import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createEventBus } from '../kernel/bus';
import { createNodeClipboard } from '../app';
import type { AppNotification } from '../../preload/contract';
import { openDatabase, type Db } from '../store';
import { createClipboardRelay, type ClipboardRelay, type RelayClipboard, type RelayRoomMessage, type RelayRooms } from './clipboard-relay';

const log = pino({ level: 'silent' });
const dbs: Db[] = [];
const tempDb = (): Db => {
  const { db } = openDatabase({ dir: fs.mkdtempSync(path.join(os.tmpdir(), 'relay-')) });
  dbs.push(db);
  return db;
};
afterAll(() => dbs.forEach((d) => d.close()));

/** A rooms double: records posts, supports retraction optionally, lets a test deliver messages. */
function fakeRooms(withRetract: boolean) {
  const posts: { id: number; roomId: string; text: string; author: { kind: string } }[] = [];
  const retracted: string[] = [];
  const listeners = new Set<(m: RelayRoomMessage) => void>();
  let seq = 0;
  const rooms: RelayRooms = {
    postMessage: (m) => {
      const p = { id: ++seq, roomId: m.roomId, text: m.text, author: m.author };
      posts.push(p);
      return { id: p.id };
    },
    onMessage: (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    ...(withRetract ? { retractMessage: ({ messageId }: { messageId: string }) => void retracted.push(messageId) } : {}),
  };
  const deliver = (m: Partial<RelayRoomMessage> & { text: string }): void =>
    listeners.forEach((l) => l({ id: ++seq, roomId: 'r1', author: { kind: 'human', id: 'u1', name: 'Ana' }, ...m }));
  return { rooms, posts, retracted, deliver };
}

function memoryClipboard(): RelayClipboard & { text: string; formats: string[]; writes: { text: string; conceal?: boolean }[] } {
  const c = {
    text: '',
    formats: [] as string[],
    writes: [] as { text: string; conceal?: boolean }[],
    readText: async () => c.text,
    readFormats: async () => c.formats,
    writeText: async (text: string, opts?: { conceal?: boolean }) => {
      c.text = text;
      c.formats = ['text/plain'];
      c.writes.push({ text, ...opts });
    },
  };
  return c;
}

describe('clipboard relay (in-memory clipboard)', () => {
  let relay: ClipboardRelay | undefined;
  afterEach(() => relay?.close());

  const setup = (withRetract = true) => {
    let t = 1_000;
    const clip = memoryClipboard();
    const r = fakeRooms(withRetract);
    const notes: AppNotification[] = [];
    const audits: string[] = [];
    const timers: { fn: () => void; at: number; cancelled: boolean }[] = [];
    const bus = createEventBus();
    relay = createClipboardRelay({
      db: tempDb(),
      bus,
      log,
      clipboard: clip,
      rooms: r.rooms,
      notifier: { notify: (n) => notes.push(n) },
      now: () => t,
      audit: (kind) => audits.push(kind),
      undoWindowMs: 5000,
      // Manual timers: the poll loop does not run by itself; tests call tick().
      schedule: (fn, ms) => {
        const timer = { fn, at: t + ms, cancelled: false };
        timers.push(timer);
        return () => (timer.cancelled = true);
      },
    });
    const advance = (ms: number): void => {
      t += ms;
      for (const tm of timers.splice(0)) {
        if (tm.cancelled) continue;
        if (tm.at <= t) tm.fn();
        else timers.push(tm);
      }
    };
    return { clip, ...r, notes, audits, relay, advance, bus };
  };

  it('is off by default and posts nothing until turned on', async () => {
    const s = setup();
    expect(s.relay.state().enabled).toBe(false);
    s.clip.text = 'copied before';
    await s.relay.tick();
    expect(s.posts).toEqual([]);
    await expect(s.relay.set({ enabled: true })).rejects.toThrow(/Choose the room/);
  });

  it('posts newly copied text as from Desktop, but not what was on the clipboard when it was turned on', async () => {
    const s = setup();
    s.clip.text = 'already there';
    await s.relay.set({ enabled: true, roomId: 'r1' });
    await s.relay.tick();
    expect(s.posts).toHaveLength(0);
    s.clip.text = 'A reply from Claude Desktop';
    await s.relay.tick();
    await s.relay.tick(); // unchanged: not posted twice
    expect(s.posts).toEqual([{ id: 1, roomId: 'r1', text: 'A reply from Claude Desktop', author: expect.objectContaining({ kind: 'desktop' }) }]);
    expect(s.relay.state()).toMatchObject({ relayed: 1, lastRelayedAt: 1_000, undoMode: 'retract' });
  });

  it('puts a message addressed to Desktop on the clipboard with a notification, and never posts it back', async () => {
    const s = setup();
    await s.relay.set({ enabled: true, roomId: 'r1' });
    s.deliver({ text: '@desktop please review the plan' });
    s.deliver({ text: 'not for desktop' });
    s.deliver({ text: 'other room @desktop', roomId: 'r2' });
    s.deliver({ text: 'flagged', toDesktop: true });
    await new Promise((r) => setImmediate(r));
    expect(s.clip.writes.map((w) => w.text)).toEqual(['please review the plan', 'flagged']);
    expect(s.clip.writes.every((w) => w.conceal)).toBe(true);
    expect(s.notes[0]).toMatchObject({ title: 'Ana wrote to Claude Desktop' });
    await s.relay.tick();
    s.clip.text = 'please review the plan\n'; // a clipboard that adds a newline is still our own write
    await s.relay.tick();
    expect(s.posts).toEqual([]);
    expect(s.relay.state().skipped.echo).toBe(2);
  });

  it('skips concealed, secret and oversized text, and records the security skips in the audit log', async () => {
    const s = setup();
    await s.relay.set({ enabled: true, roomId: 'r1' });
    s.clip.text = 'a password manager copy';
    s.clip.formats = ['text/plain', 'org.nspasteboard.ConcealedType'];
    await s.relay.tick();
    s.clip.formats = ['text/plain'];
    s.clip.text = ['-----BEGIN OPENSSH ', 'PRIVATE KEY-----\nabc'].join('');
    await s.relay.tick();
    s.clip.text = 'x'.repeat(10_001);
    await s.relay.tick();
    s.clip.text = 'x'.repeat(10_000);
    await s.relay.tick();
    expect(s.relay.state().skipped).toEqual({ echo: 0, concealed: 1, secret: 1, tooLarge: 1 });
    expect(s.posts.map((p) => p.text.length)).toEqual([10_000]);
    expect(s.audits).toEqual(['relay.skipped', 'relay.skipped']);
  });

  it('undo retracts a post within the window and refuses after it', async () => {
    const s = setup(true);
    await s.relay.set({ enabled: true, roomId: 'r1' });
    s.clip.text = 'first';
    await s.relay.tick();
    s.clip.text = 'second';
    await s.relay.tick();
    expect(s.relay.state().undoable.map((u) => u.messageId)).toEqual(['1', '2']);
    await s.relay.undo('1');
    expect(s.retracted).toEqual(['1']);
    s.advance(5001);
    await expect(s.relay.undo('2')).rejects.toThrow(/can no longer be undone/);
    expect(s.relay.state().undoable).toEqual([]);
  });

  it('without retraction in the rooms service, holds the post for the undo window', async () => {
    const s = setup(false);
    await s.relay.set({ enabled: true, roomId: 'r1' });
    expect(s.relay.state().undoMode).toBe('delay');
    s.clip.text = 'kept';
    await s.relay.tick();
    s.clip.text = 'withdrawn';
    await s.relay.tick();
    const [kept, withdrawn] = s.relay.state().undoable;
    expect(s.posts).toEqual([]);
    await s.relay.undo(withdrawn!.messageId);
    s.advance(5000);
    await new Promise((r) => setImmediate(r));
    expect(s.posts.map((p) => p.text)).toEqual(['kept']);
    expect(kept!.posted).toBe(false);
  });

  it('remembers the room across restarts but always starts off', async () => {
    const db = tempDb();
    const mk = () =>
      createClipboardRelay({ db, bus: createEventBus(), log, clipboard: memoryClipboard(), rooms: fakeRooms(true).rooms, notifier: { notify: () => {} }, now: () => 0, schedule: () => () => {} });
    const a = mk();
    await a.set({ enabled: true, roomId: 'room-7' });
    a.close();
    const b = mk();
    expect(b.state()).toMatchObject({ enabled: false, roomId: 'room-7' });
    b.close();
  });
});

// The real thing: an X server (Xvfb), xclip as the "other application", the node adapter reading it.
const haveX = spawnSync('sh', ['-c', 'command -v Xvfb && command -v xclip']).status === 0;
describe.skipIf(!haveX)('clipboard relay on a real X clipboard (Xvfb + xclip)', () => {
  let xvfb: ChildProcess | undefined;
  let display = '';
  let relay: ClipboardRelay | undefined;

  beforeAll(async () => {
    let n = 90 + (process.pid % 100);
    while (fs.existsSync(`/tmp/.X11-unix/X${n}`) || fs.existsSync(`/tmp/.X${n}-lock`)) n++;
    display = `:${n}`;
    xvfb = spawn('Xvfb', [display, '-nolisten', 'tcp', '-screen', '0', '320x240x24'], { stdio: 'ignore' });
    const deadline = Date.now() + 10_000;
    while (!fs.existsSync(`/tmp/.X11-unix/X${n}`)) {
      if (Date.now() > deadline || xvfb.exitCode !== null) throw new Error(`Xvfb ${display} did not start`);
      await new Promise((r) => setTimeout(r, 50));
    }
  });
  afterAll(() => {
    relay?.close();
    if (xvfb?.pid) process.kill(xvfb.pid, 'SIGTERM');
  });

  const copy = (text: string): Promise<void> =>
    new Promise((resolve, reject) => {
      // As another application would: xclip owns the selection until someone else takes it.
      const p = spawn('xclip', ['-selection', 'clipboard', '-i'], { env: { ...process.env, DISPLAY: display }, stdio: ['pipe', 'ignore', 'ignore'] });
      p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`xclip exited ${code}`))));
      p.stdin.end(text);
    });
  const until = async (cond: () => boolean, ms: number): Promise<boolean> => {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      if (cond()) return true;
      await new Promise((r) => setTimeout(r, 10));
    }
    return cond();
  };

  it('relays a copy within 1 s, has no echo loop, and skips a secret', async () => {
    const clipboard = createNodeClipboard({ env: { ...process.env, DISPLAY: display } });
    expect(clipboard.backend).toBe('xclip');
    const r = fakeRooms(true);
    relay = createClipboardRelay({ db: tempDb(), bus: createEventBus(), log, clipboard, rooms: r.rooms, notifier: { notify: () => {} }, now: Date.now, pollMs: clipboard.suggestedPollMs });
    await copy('before the relay was on');
    await relay.set({ enabled: true, roomId: 'r1' });

    const t0 = Date.now();
    await copy('Claude Desktop says: the migration is safe to run.');
    expect(await until(() => r.posts.length === 1, 1000)).toBe(true);
    const latency = Date.now() - t0;
    expect(r.posts[0]!.text).toBe('Claude Desktop says: the migration is safe to run.');
    console.log(`clipboard relay on Xvfb: copy → room in ${latency} ms (poll ${clipboard.suggestedPollMs} ms)`);

    // A room message to Desktop lands on the X clipboard and is not posted back.
    r.deliver({ text: '@desktop run the checklist again' });
    expect(await until(() => relay!.state().toClipboard === 1, 1000)).toBe(true);
    expect(await clipboard.readText()).toBe('run the checklist again');
    expect(await until(() => relay!.state().skipped.echo === 1, 1000)).toBe(true);
    await new Promise((res) => setTimeout(res, 700));
    expect(r.posts).toHaveLength(1);

    await copy(['sk-', 'ant-', 'api03-', 'Q7'.repeat(20)].join(''));
    expect(await until(() => relay!.state().skipped.secret === 1, 1000)).toBe(true);
    await copy('and a normal line again');
    expect(await until(() => r.posts.length === 2, 1000)).toBe(true);
    expect(r.posts.map((p) => p.text)).toEqual(['Claude Desktop says: the migration is safe to run.', 'and a normal line again']);
  });
});
if (!haveX) console.log('Skipping the real X clipboard test: Xvfb or xclip is not installed.');
