// Spreads the stateless part of verification (parse + Ed25519, ≈60–80 µs a message) over worker
// threads, so a fleet of 1,000 cameras at 10 Hz does not need a whole core on the main thread for
// signatures alone. Messages go in batches (one postMessage per batch, not per message: the
// structured-clone and wake-up cost is paid once per batch). Verdicts come back in order per batch;
// the caller hands them to `swarm.ingestChecked`, which does the stateful checks and fusion.
import { spawnWorker } from '../kernel/workers';
import type { RecordedKey, SessionShare, WorkerVerdict } from './verify';
import type { FromWorker, PackedBatch, ToWorker } from './verify-worker';

export interface VerifyPoolOptions {
  size: number;
  /** The worker entry: the built verify-worker.js, or verify-worker.ts (loaded through tsx, for scripts and tests). */
  entry: string;
}

export interface VerifyPool {
  /** Tells every worker the recorded keys (serial → key); call again after a key changes. */
  setKeys(keys: Iterable<[string, RecordedKey]>): void;
  /** Shares cameras' v3 sessions (Verifier.onSession) so workers check MACs too. */
  setSessions(sessions: readonly SessionShare[]): void;
  /**
   * Parses and signature-checks a batch in the least loaded worker. `receivedAt` (with the
   * verifier's `skewMs`) lets the worker skip the signature of a message the clock check refuses.
   */
  verify(items: { payload: Uint8Array; topic?: string; receivedAt?: number }[], skewMs?: number): Promise<WorkerVerdict[]>;
  /** Batches sent and not answered yet. */
  inFlight(): number;
  /** Time each worker has spent working (not waiting for a batch) since it started, ms (wall clock). */
  activeMs(): number[];
  /** CPU time each worker thread has used since it started, ms (null where the OS does not say: Linux only). */
  cpuMs(): Promise<(number | null)[]>;
  close(): Promise<void>;
}

export function createVerifyPool(o: VerifyPoolOptions): VerifyPool {
  const workers = Array.from({ length: Math.max(1, o.size) }, () => spawnWorker(o.entry));
  const pending = new Map<number, { resolve: (v: WorkerVerdict[]) => void; reject: (e: Error) => void; worker: number }>();
  const load = workers.map(() => 0);
  let nextId = 1;
  const cpuAsks = new Map<number, (ms: number | null) => void>();
  let broken: Error | undefined;
  let closing = false;
  workers.forEach((w, i) => {
    w.on('message', (m: FromWorker) => {
      if (m.type === 'cpu') {
        cpuAsks.get(m.id)?.(m.ms);
        cpuAsks.delete(m.id);
        return;
      }
      const p = pending.get(m.id);
      if (!p) return;
      pending.delete(m.id);
      load[i]!--;
      p.resolve(m.verdicts);
    });
    // A worker that failed (or could not start) fails what it holds and every later call: the
    // caller falls back to verifying on its own thread instead of waiting forever.
    const fail = (err: Error): void => {
      broken ??= err;
      for (const [id, p] of pending)
        if (p.worker === i) {
          pending.delete(id);
          p.reject(err);
        }
    };
    w.on('error', fail);
    w.on('exit', (code) => {
      if (!closing) fail(new Error(`verification worker exited with code ${code}`));
    });
  });
  return {
    setKeys(keys) {
      const msg: ToWorker = { type: 'keys', keys: [...keys].map(([serial, k]) => [serial, k.keyId, k.publicKey]) };
      for (const w of workers) w.postMessage(msg);
    },
    setSessions(sessions) {
      if (!sessions.length) return;
      const msg: ToWorker = { type: 'sessions', sessions: sessions.map((s) => ({ ...s })) };
      for (const w of workers) w.postMessage(msg);
    },
    verify(items, skewMs = Number.POSITIVE_INFINITY) {
      if (broken) return Promise.reject(broken);
      const packed = pack(items, skewMs);
      // The least loaded worker takes the batch.
      let best = 0;
      for (let i = 1; i < workers.length; i++) if (load[i]! < load[best]!) best = i;
      const id = nextId++;
      load[best]!++;
      return new Promise<WorkerVerdict[]>((resolve, reject) => {
        pending.set(id, { resolve, reject, worker: best });
        const msg: ToWorker = { type: 'batch', id, ...packed };
        workers[best]!.postMessage(msg, [packed.bytes]);
      }).then((verdicts) => {
        // The worker sends the payload text back empty (verify-worker.ts): restored from our bytes.
        verdicts.forEach((v, i) => {
          if (v.parse.ok && !v.parse.parsed.raw) v.parse.parsed.raw = Buffer.from(items[i]!.payload.buffer, items[i]!.payload.byteOffset, items[i]!.payload.byteLength).toString('utf8');
        });
        return verdicts;
      });
    },
    inFlight: () => pending.size,
    activeMs: () => workers.map((w) => w.performance.eventLoopUtilization().active),
    cpuMs: () =>
      Promise.all(
        workers.map(
          (w) =>
            new Promise<number | null>((resolve) => {
              if (broken) return resolve(null);
              const id = nextId++;
              cpuAsks.set(id, resolve);
              w.postMessage({ type: 'cpu', id } satisfies ToWorker);
            }),
        ),
      ),
    async close() {
      closing = true;
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}

/** One buffer for the batch, handed over to the worker (transferred, not copied). */
export function pack(items: readonly { payload: Uint8Array; topic?: string; receivedAt?: number }[], skewMs: number): PackedBatch {
  let total = 0;
  for (const it of items) total += it.payload.byteLength;
  const bytes = new ArrayBuffer(total);
  const view = new Uint8Array(bytes);
  const ends = new Uint32Array(items.length);
  const receivedAt = new Float64Array(items.length);
  let at = 0;
  items.forEach((it, i) => {
    view.set(it.payload, at);
    at += it.payload.byteLength;
    ends[i] = at;
    receivedAt[i] = it.receivedAt ?? Number.NaN;
  });
  return { bytes, ends, topics: items.map((it) => it.topic), receivedAt, skewMs };
}
