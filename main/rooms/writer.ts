// The rooms write path off the event loop: a worker thread with its own better-sqlite3 connection
// runs each batch of inserts as one transaction (WAL, synchronous=FULL: the commit waits for the
// fsync) and answers only after COMMIT returned. The main thread keeps answering sockets while the
// disk syncs; before, a commit's fsync (5–15 ms on this disk) stopped the whole bridge.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Db } from '../store';

/** One statement run: [statement key, positional arguments]. */
export type WriteOp = readonly [key: string, args: readonly (string | number | null)[]];
/** Per op: the new rowid, or the error that statement raised (the rest of the batch still commits). */
export type WriteResult = number | { error: string };

export interface RoomsWriter {
  readonly mode: 'worker' | 'inline';
  /** Runs the ops in one transaction; resolves after the commit (rejects when the batch as a whole failed). */
  run(ops: WriteOp[]): Promise<WriteResult[]>;
  /** Lets batches already handed over finish, then closes the connection. */
  close(): Promise<void>;
}

// Runs inside the worker. Plain JavaScript in a string (eval worker): the same code works under tsx,
// vitest and the electron-vite bundle without a separate build entry. Kept generic on purpose: the
// rules (validation, ids, mentions) stay in service.ts, the worker only executes statements.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.sqlite);
const db = new Database(workerData.file, process.env.OMNISIGHT_SQLITE_BINDING ? { nativeBinding: process.env.OMNISIGHT_SQLITE_BINDING } : {}); // see store/database.ts sqliteOptions
db.pragma('journal_mode = WAL');
db.pragma('synchronous = FULL'); // durability is a product promise: a commit returns after fsync
db.pragma('foreign_keys = ON');
db.pragma('busy_timeout = 5000');
const stmts = {};
for (const [k, sql] of Object.entries(workerData.statements)) stmts[k] = db.prepare(sql);
const begin = db.prepare('BEGIN IMMEDIATE');
const commit = db.prepare('COMMIT');
parentPort.on('message', (msg) => {
  if (msg.type === 'close') {
    db.close();
    parentPort.postMessage({ type: 'closed' });
    parentPort.close();
    return;
  }
  const ops = msg.ops;
  const results = new Array(ops.length);
  try {
    begin.run();
    for (let i = 0; i < ops.length; i++) {
      try {
        results[i] = Number(stmts[ops[i][0]].run(...ops[i][1]).lastInsertRowid);
      } catch (err) {
        // A constraint error undoes only its statement; anything worse ends the transaction.
        if (!db.inTransaction) throw err;
        results[i] = { error: String((err && err.message) || err) };
      }
    }
    commit.run();
    parentPort.postMessage({ type: 'done', seq: msg.seq, results });
  } catch (err) {
    if (db.inTransaction) { try { db.exec('ROLLBACK'); } catch {} }
    parentPort.postMessage({ type: 'done', seq: msg.seq, error: String((err && err.message) || err) });
  }
});
`;

/** Same contract on the caller's connection (in-memory databases, or when worker threads are unavailable). */
export function createInlineWriter(db: Db, statements: Record<string, string>): RoomsWriter {
  const stmts = new Map(Object.entries(statements).map(([k, sql]) => [k, db.prepare(sql)]));
  return {
    mode: 'inline',
    run(ops) {
      try {
        const results = db
          .transaction(() =>
            ops.map((op): WriteResult => {
              try {
                return Number(stmts.get(op[0])!.run(...op[1]).lastInsertRowid);
              } catch (err) {
                if (!db.inTransaction) throw err;
                return { error: (err as Error).message };
              }
            }),
          )
          .immediate();
        return Promise.resolve(results);
      } catch (err) {
        return Promise.reject(err instanceof Error ? err : new Error(String(err)));
      }
    },
    close: () => Promise.resolve(),
  };
}

export function createWorkerWriter(file: string, statements: Record<string, string>, onFailure: (err: Error) => void): RoomsWriter {
  const sqlite = createRequire(__filename).resolve('better-sqlite3');
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { file, sqlite, statements } });
  worker.unref(); // an idle writer never keeps the process alive
  const waiting = new Map<number, { resolve: (r: WriteResult[]) => void; reject: (e: Error) => void }>();
  let seq = 0;
  let dead: Error | undefined;
  let closing: Promise<void> | undefined;
  let onClosed: (() => void) | undefined;

  const fail = (err: Error): void => {
    if (dead) return;
    dead = err;
    for (const w of waiting.values()) w.reject(err);
    waiting.clear();
    onClosed?.();
    if (!closing) onFailure(err);
  };
  worker.on('message', (m: { type: 'done'; seq: number; results?: WriteResult[]; error?: string } | { type: 'closed' }) => {
    if (m.type === 'closed') return onClosed?.();
    const w = waiting.get(m.seq);
    waiting.delete(m.seq);
    if (!w) return;
    if (m.error !== undefined) w.reject(new Error(m.error));
    else w.resolve(m.results!);
  });
  worker.on('error', (err) => fail(err));
  worker.on('exit', (code) => fail(new Error(`the rooms writer thread exited (code ${code})`)));

  return {
    mode: 'worker',
    run(ops) {
      if (dead) return Promise.reject(dead);
      if (closing) return Promise.reject(new Error('the rooms writer is closed'));
      const id = ++seq;
      return new Promise((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        worker.postMessage({ type: 'run', seq: id, ops });
      });
    },
    close() {
      closing ??= dead
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            onClosed = resolve;
            worker.postMessage({ type: 'close' }); // after every batch already queued: the port is FIFO
          });
      return closing;
    },
  };
}
