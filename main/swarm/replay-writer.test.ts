import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { createReplayWriter, REPLAY_FILE } from './replay-writer';
import type { ReplayEntry } from './replay';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
const entry = path.join(__dirname, 'replay-writer-worker.ts');
const fileIn = (): string => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'replay-writer-'));
  dirs.push(dir);
  return path.join(dir, REPLAY_FILE);
};
const e = (camera: string, epoch: number, highest: number, window = 1n): ReplayEntry => ({ camera, key: 'k1', epoch, highest, window });
/** What another connection (as after a crash of this process) reads from the file. */
const onDisk = (file: string): Record<string, [number, number, bigint]> => {
  const db = new Database(file, { readonly: true });
  try {
    const rows = db.prepare('SELECT camera, epoch, highest, window FROM swarm_replay').safeIntegers(true).all() as { camera: string; epoch: bigint; highest: bigint; window: bigint }[];
    return Object.fromEntries(rows.map((r) => [r.camera, [Number(r.epoch), Number(r.highest), BigInt.asUintN(64, r.window)]]));
  } finally {
    db.close();
  }
};

describe('replay writer thread', () => {
  it('a commit resolves once another connection sees it; commits apply in call order (the later state wins); load() reads them back after a restart', async () => {
    const file = fileIn();
    const w = createReplayWriter({ file, entry });
    try {
      expect(w.load()).toEqual([]);
      const first = w.commit([e('A', 1, 5), e('B', 1, 9)], true, 1000);
      // Asked while the first is at the writer: these two go together, in order, in the next commit.
      const second = w.commit([e('A', 1, 6, 3n)], true, 1001);
      const third = w.commit([e('A', 2, 1)], false, 1002);
      expect(w.pending()).toBe(3);
      await first;
      expect(onDisk(file).B).toEqual([1, 9, 1n]);
      await Promise.all([second, third]);
      expect(w.pending()).toBe(0);
      expect(onDisk(file)).toEqual({ A: [2, 1, 1n], B: [1, 9, 1n] });
      // The full 64-bit window survives the trip (stored signed, read back unsigned).
      await w.commit([e('C', 3, 100, (1n << 64n) - 1n)], true, 1003);
    } finally {
      await w.close();
    }
    const again = createReplayWriter({ file, entry });
    try {
      expect(Object.fromEntries(again.load().map((x) => [x.camera, [x.epoch, x.highest, x.window]]))).toEqual({ A: [2, 1, 1n], B: [1, 9, 1n], C: [3, 100, (1n << 64n) - 1n] });
    } finally {
      await again.close();
    }
  });

  it('commitSync blocks until its entries are on disk, after the commits asked before it', async () => {
    const file = fileIn();
    const w = createReplayWriter({ file, entry });
    try {
      const before = w.commit([e('A', 1, 1)], true, 1);
      w.commitSync([e('A', 1, 2), e('B', 4, 4)], true, 2);
      expect(onDisk(file)).toEqual({ A: [1, 2, 1n], B: [4, 4, 1n] });
      await before;
    } finally {
      await w.close();
    }
  });

  it('a thread that cannot start makes the writer broken(): every commit rejects', async () => {
    const w = createReplayWriter({ file: fileIn(), entry: path.join(__dirname, 'no-such-replay-worker.js') });
    try {
      await expect(w.commit([e('A', 1, 1)], true, 1)).rejects.toThrow();
      expect(w.broken()).toBeInstanceOf(Error);
      await expect(w.commit([e('A', 1, 2)], true, 2)).rejects.toBe(w.broken());
    } finally {
      await w.close();
    }
  });

  it('a commit that cannot be written rejects (and commitSync throws); the writer goes on with the next', async () => {
    const file = fileIn();
    const w = createReplayWriter({ file, entry, busyTimeoutMs: 20 });
    const blocker = new Database(file);
    try {
      await w.commit([e('A', 1, 1)], true, 1);
      blocker.exec('BEGIN IMMEDIATE'); // another writer holds the file's write lock
      await expect(w.commit([e('A', 1, 2)], true, 2)).rejects.toThrow(/could not be written.*(locked|busy)/i);
      expect(() => w.commitSync([e('A', 1, 3)], true, 3)).toThrow(/could not be written/);
      blocker.exec('ROLLBACK');
      await w.commit([e('B', 1, 1)], true, 4);
      expect(onDisk(file)).toEqual({ A: [1, 1, 1n], B: [1, 1, 1n] });
      expect(w.broken()).toBeUndefined(); // a failed commit is not a gone thread
    } finally {
      blocker.close();
      await w.close();
    }
  });
});
