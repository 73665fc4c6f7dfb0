// The embedded broker: aedes on a loopback TCP port, for a desktop and the simulated fleet, run on a
// worker thread (broker-worker.ts says why, and how it refuses load instead of falling over). This
// side starts the thread, waits for it to listen, reads its drop counter and stops it; a thread that
// fails or exits while it should be serving is reported to onError, never silently gone (the MQTT
// service starts a new one on the same port: main/mqtt/index.ts).
import fs from 'node:fs';
import path from 'node:path';
import { builtWorkerEntry, spawnWorker } from '../kernel/workers';
import { fromBrokerSchema, type BrokerOptions, type ToBroker } from './broker-protocol';

export { DESKTOP_TOPIC_PREFIX, DESKTOP_USERNAME } from './broker-protocol';

/** Publishes waiting in the broker (for a slow subscriber) before new ones are dropped. */
export const MAX_QUEUED = 5_000;

/** How long the thread may take to load and listen (tsx compiles its .ts entry on the way, under load). */
const START_TIMEOUT_MS = 30_000;
/** How long close() waits for the thread to disconnect its clients before it ends the thread. */
const CLOSE_TIMEOUT_MS = 5_000;

export interface EmbeddedBroker {
  readonly host: string;
  readonly port: number;
  readonly url: string;
  /** Publishes dropped since start because the broker's queue was full. */
  dropped(): number;
  close(): Promise<void>;
}

export interface EmbeddedBrokerOptions {
  /** 0 or absent = any free port. */
  port?: number;
  maxQueued?: number;
  /**
   * The secret the desktop's own client logs in with (user DESKTOP_USERNAME). Only a client that
   * logged in with it may publish under omnisight/desktop/. Without it, nobody may publish there.
   */
  desktopPassword?: string;
  /**
   * The broker's thread failed or exited after it started listening: cameras and the desktop's
   * client lose their broker. Without it, a process warning is emitted.
   */
  onError?: (err: Error) => void;
  /** The thread's entry: broker-worker.js beside the built bundle, or the .ts source (through tsx). Found when absent. */
  entry?: string;
}

/**
 * Where the thread's code is. Built (electron-vite: out/main/broker-worker.js, with this module in
 * out/main or a chunk folder below it) or the source beside this file (tsx: tests and scripts).
 */
export function brokerWorkerEntry(): string {
  const source = path.join(__dirname, 'broker-worker.ts');
  const found = builtWorkerEntry(__dirname, 'broker-worker.js') ?? (fs.existsSync(source) ? source : undefined);
  if (!found) throw new Error(`The embedded MQTT broker's code is missing (looked for broker-worker.js beside ${__dirname} and its parent, and ${source}). Reinstall the application.`);
  return found;
}

export function startEmbeddedBroker(opts: EmbeddedBrokerOptions = {}): Promise<EmbeddedBroker> {
  const dropped = new Int32Array(new SharedArrayBuffer(4));
  const workerData: BrokerOptions = {
    port: opts.port ?? 0,
    maxQueued: opts.maxQueued ?? MAX_QUEUED,
    ...(opts.desktopPassword ? { desktopPassword: opts.desktopPassword } : {}),
    dropped: dropped.buffer,
  };
  const worker = spawnWorker(opts.entry ?? brokerWorkerEntry(), { workerData });
  const report =
    opts.onError ?? ((err: Error) => process.emitWarning(`embedded MQTT broker: ${err.message}`, { code: 'OMNISIGHT_BROKER_FAILED' }));
  // starting → serving → (closing | failed) → gone. Only a failure while serving goes to onError:
  // one while starting rejects the start, and an exit after close() is the point of close().
  let state: 'starting' | 'serving' | 'closing' | 'failed' = 'starting';
  const exited = new Promise<void>((r) => worker.once('exit', () => r()));

  return new Promise<EmbeddedBroker>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`The embedded MQTT broker did not start within ${START_TIMEOUT_MS / 1000} s.`)), START_TIMEOUT_MS);
    const fail = (err: Error): void => {
      const was = state;
      if (was === 'closing' || was === 'failed') return;
      state = 'failed';
      clearTimeout(timer);
      if (was === 'starting') {
        reject(err);
        void worker.terminate();
      } else report(err);
    };
    worker.on('error', (err) => fail(err instanceof Error ? err : new Error(String(err))));
    worker.on('exit', (code) => fail(new Error(`The embedded MQTT broker's thread exited (code ${code}); cameras cannot publish to it until it is started again.`)));
    worker.on('message', (raw: unknown) => {
      const m = fromBrokerSchema.safeParse(raw);
      if (!m.success) return fail(new Error(`The embedded MQTT broker's thread sent a message that is not in its protocol: ${m.error.message.slice(0, 300)}`));
      if (m.data.type === 'error') return fail(new Error(m.data.message));
      if (state !== 'starting') return;
      state = 'serving';
      clearTimeout(timer);
      const port = m.data.port;
      resolve({
        host: '127.0.0.1',
        port,
        url: `mqtt://127.0.0.1:${port}`,
        dropped: () => Atomics.load(dropped, 0),
        async close() {
          if (state === 'serving') {
            state = 'closing';
            worker.postMessage({ type: 'close' } satisfies ToBroker);
            const t = setTimeout(() => void worker.terminate(), CLOSE_TIMEOUT_MS);
            await exited;
            clearTimeout(t);
          } else await worker.terminate().then(() => exited);
        },
      });
    });
  });
}
