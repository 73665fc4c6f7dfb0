// The assist services against the real rooms service (through its public surface only).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { createEventBus } from '../kernel/bus';
import { createRoomsService } from '../rooms';
import { openDatabase } from '../store';
import { createClipboardRelay, relayRoomsFrom, type RelayClipboard } from './clipboard-relay';
import { createSummaryService, summaryRoomsFrom } from './summary';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'assist-rooms-'));
const { db } = openDatabase({ dir });
afterAll(() => db.close());
const log = pino({ level: 'silent' });
const bus = createEventBus();
let t = 1_000;
const now = (): number => ++t;
const rooms = createRoomsService({ db, bus, now, dataDir: dir, log });
const ana = { kind: 'human' as const, id: 'ana', name: 'Ana' };

describe('assist services on the rooms service', () => {
  it('summaries read every page from the start (rooms returns the newest page without a cursor)', async () => {
    const room = rooms.createRoom({ name: 'Summary room', owner: ana });
    // More than one 500-message page, committed as one group so the test stays fast.
    rooms.postMany(Array.from({ length: 520 }, (_, i) => ({ roomId: room.id, author: ana, text: i === 0 ? 'Who owns the rollout?' : `note ${i + 1}` })));
    const svc = createSummaryService({ db, bus, log, now, secrets: { protection: 'file-key', get: () => undefined, set() {}, delete() {} }, rooms: summaryRoomsFrom(rooms, bus) });
    const s = await svc.run(room.id);
    expect(s.messageCount).toBe(520);
    expect(s.text).toContain('Ana: Who owns the rollout?');
    svc.close();
  });

  it('the relay posts as a Desktop member and receives @desktop messages through rooms.message', async () => {
    const room = rooms.createRoom({ name: 'Relay room', owner: ana });
    const clip: RelayClipboard & { text: string } = {
      text: '',
      readText: async () => clip.text,
      writeText: async (text) => void (clip.text = text),
    };
    let cancel: (() => void)[] = [];
    const pending: (() => void)[] = [];
    const relay = createClipboardRelay({
      db, bus, log, now, clipboard: clip, rooms: relayRoomsFrom(rooms, bus), notifier: { notify() {} },
      schedule: (fn) => (pending.push(fn), () => (cancel = [...cancel, fn])),
    });
    await relay.set({ enabled: true, roomId: room.id });
    expect(relay.state().undoMode).toBe('delay');
    clip.text = 'Desktop: looks fine';
    await relay.tick();
    pending.at(-1)!(); // the undo window passes
    await new Promise((r) => setImmediate(r));
    const { messages } = rooms.listMessages({ roomId: room.id, after: 0, limit: 10 });
    expect(messages.map((m) => [m.author.kind, m.text])).toEqual([['desktop', 'Desktop: looks fine']]);
    rooms.postMessage({ roomId: room.id, author: ana, text: '@desktop summarise the thread' });
    await new Promise((r) => setImmediate(r));
    expect(clip.text).toBe('summarise the thread');
    relay.close();
  });
});
