// Where the replay state becomes durable without blocking the main thread.
//
// Why a writer thread with its own file. The guarantee (replay.ts, coordinator.ts): a report's
// replay state is on disk before the report is acted on (fused), so a report accepted before a
// crash is refused after it. Before, that commit — one fsync, 2–5 ms on an idle SSD, 10–40 ms on a
// busy disk — ran on the main thread, and at 1,000 cameras × 10 Hz it took a third of the main
// thread's wall time while fusion, the timeline and MQTT waited behind it. Here the commit runs on
// a worker thread with its own better-sqlite3 connection; the main thread posts a batch's replay
// delta, keeps verifying and fusing earlier batches, and fuses this one when the answer comes.
//
// Why its own file (swarm-replay.db next to the main database) rather than a second connection to
// the main one: SQLite has one writer at a time per database, and in WAL mode a commit holds the
// write lock through its fsync. The main thread writes events, audit rows and the timeline's state
// many times a second; with one file, each of those writes would wait (in SQLite's busy handler, on
// the main thread) for the writer's fsync — the stall this removes. A file of its own shares no lock.
// Rows the main database's swarm_replay table holds from before are still read at start (the
// service merges them, newer wins), so an upgrade refuses what the previous version accepted.
//
// The alternative — verification workers that each own a shard of cameras with its replay window
// and persistence — would also take the fsyncs off the main thread, but would give every worker a
// database connection and an fsync per batch, and move a stateful check into four places; one
// writer keeps one commit (one fsync) per cycle for the whole fleet: group commit as before.
import path from 'node:path';
import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads';
import { spawnWorker } from '../kernel/workers';
import type { ReplayEntry } from './replay';
import { readReplayFile, type ReplayRow, type ToWriter, type WriterAnswer } from './replay-writer-file';

export interface ReplayWriter {
  /** The replay state in the file, read at start. */
  load(): ReplayEntry[];
  /**
   * Writes the entries in one transaction on the writer's thread; resolves once committed (with an
   * fsync when `durable`), rejects when the write failed. Commits happen in the order of the calls.
   */
  commit(entries: readonly ReplayEntry[], durable: boolean, at: number): Promise<void>;
  /** The same, blocking this thread until it is committed (after every commit posted before it). */
  commitSync(entries: readonly ReplayEntry[], durable: boolean, at: number): void;
  /** Commit calls whose promise has not settled yet. */
  pending(): number;
  /** Why the writer's thread is gone (it failed or exited), or undefined while it runs. A failed commit does not count. */
  broken(): Error | undefined;
  close(): Promise<void>;
}

export interface ReplayWriterOptions {
  /** The replay state's SQLite file (the app: swarm-replay.db in the data folder). */
  file: string;
  /** The worker entry: the built replay-writer-worker.js, or the .ts source (through tsx, for tests and scripts). */
  entry?: string;
  /** How long commitSync waits for the writer before it gives up (ms). */
  syncTimeoutMs?: number;
  /** How long the writer waits for another connection's lock on the file before the commit fails (ms). */
  busyTimeoutMs?: number;
  /** Each commit done: its time on the writer's thread (transaction and fsync, ms) and its rows. For the benchmark. */
  onCommit?: (ms: number, rows: number) => void;
}

export const REPLAY_FILE = 'swarm-replay.db';

const rowsOf = (entries: readonly ReplayEntry[]): ReplayRow[] => entries.map((e) => [e.camera, e.key, e.epoch, e.highest, e.window]);

export function createReplayWriter(o: ReplayWriterOptions): ReplayWriter {
  // Read (and create) before the thread starts: the caller's state is built from it synchronously.
  const initial = readReplayFile(o.file);
  const entry = o.entry ?? path.join(__dirname, 'replay-writer-worker.js');
  const channel = new MessageChannel();
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const worker = spawnWorker(entry, { workerData: { file: o.file, syncPort: channel.port2, syncFlag: flag.buffer, busyTimeoutMs: o.busyTimeoutMs ?? 5_000 }, transferList: [channel.port2] });
  const waiting = new Map<number, { resolve: () => void; reject: (e: Error) => void; rows?: number }>();
  let nextId = 1;
  let broken: Error | undefined;
  type Waiter = { resolve: () => void; reject: (e: Error) => void };
  let group: { rows: ReplayRow[]; durable: boolean; at: number; waiters: Waiter[] } | undefined;
  let inFlight = 0;
  let asked = 0;
  worker.on('message', (a: WriterAnswer) => {
    const w = waiting.get(a.id);
    if (!w) return;
    waiting.delete(a.id);
    if (a.error !== undefined) w.reject(new Error(`the replay state could not be written: ${a.error}`));
    else {
      if (a.ms !== undefined) o.onCommit?.(a.ms, w.rows ?? 0);
      w.resolve();
    }
  });
  const fail = (err: Error): void => {
    broken ??= err;
    for (const [id, w] of waiting) {
      waiting.delete(id);
      w.reject(err);
    }
    const queued = group;
    group = undefined;
    for (const w of queued?.waiters ?? []) w.reject(err);
  };
  let closing = false;
  worker.on('error', fail);
  worker.on('exit', (code) => {
    if (!closing) fail(new Error(`the replay writer thread exited with code ${code}`));
  });
  const post = (m: ToWriter): void => worker.postMessage(m);

  // Group commit on this side: one commit at the writer at a time; whatever is asked meanwhile
  // joins the next one, which goes when the previous answer comes. So the fsync rate adapts to the
  // disk (a slow fsync gathers more into the next commit) and no timer is needed for grouping; a
  // caller's promise settles with the commit that carried its entries.
  const send = (sync: boolean): number => {
    const g = group ?? { rows: [], durable: false, at: 0, waiters: [] };
    group = undefined;
    const id = nextId++;
    inFlight++;
    const settle = (err?: Error): void => {
      inFlight--;
      asked -= g.waiters.length;
      for (const w of g.waiters) {
        if (err) w.reject(err);
        else w.resolve();
      }
      if (group && inFlight === 0 && !broken) send(false);
    };
    waiting.set(id, { resolve: () => settle(), reject: (e) => settle(e), rows: g.rows.length });
    post({ type: 'commit', id, rows: g.rows, durable: g.durable, at: g.at, sync });
    return id;
  };

  return {
    load: () => initial,
    commit(entries, durable, at) {
      if (broken) return Promise.reject(broken);
      return new Promise<void>((resolve, reject) => {
        group ??= { rows: [], durable: false, at, waiters: [] };
        for (const r of rowsOf(entries)) group.rows.push(r);
        group.durable ||= durable;
        group.at = at;
        group.waiters.push({ resolve, reject });
        asked++;
        if (inFlight === 0) send(false);
      });
    },
    commitSync(entries, durable, at) {
      if (broken) throw broken;
      // What is queued goes first (the writer answers in order), then this, carried alone.
      if (group) send(false);
      group = { rows: rowsOf(entries), durable, at, waiters: [] };
      Atomics.store(flag, 0, 0);
      const id = send(true);
      const r = Atomics.wait(flag, 0, 0, o.syncTimeoutMs ?? 30_000);
      if (r === 'timed-out') throw new Error('the replay writer did not answer in time');
      const got = receiveMessageOnPort(channel.port1)?.message as WriterAnswer | undefined;
      if (!got || got.id !== id) throw new Error('the replay writer answered out of turn');
      // Settled here (its answer came through the sync port, not the message event).
      const w = waiting.get(id);
      waiting.delete(id);
      if (got.error !== undefined) {
        const err = new Error(`the replay state could not be written: ${got.error}`);
        w?.reject(err);
        throw err;
      }
      w?.resolve();
    },
    pending: () => asked,
    broken: () => broken,
    async close() {
      if (closing) return;
      closing = true;
      if (!broken) {
        if (group) send(false); // the writer answers it before the close
        const id = nextId++;
        await new Promise<void>((resolve) => {
          waiting.set(id, { resolve, reject: () => resolve() });
          post({ type: 'close', id });
          setTimeout(resolve, 2_000).unref();
        });
      }
      channel.port1.close();
      await worker.terminate();
    },
  };
}
