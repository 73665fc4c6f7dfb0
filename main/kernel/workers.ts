// Worker threads, one way for every capability that runs one (verification, the replay writer, the
// embedded broker): where the built entry is, and how a .ts entry is started from source.
import fs from 'node:fs';
import path from 'node:path';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * A worker entry the build wrote beside the bundle's entries (out/main), looked for from `dir`
 * (the caller's `__dirname`). A module may be bundled into a shared chunk (out/main/chunks), so the
 * folder above is looked in too. Undefined when running from source (tests, scripts).
 */
export function builtWorkerEntry(dir: string, name: string): string | undefined {
  return [path.join(dir, name), path.join(dir, '..', name)].find((p) => fs.existsSync(p));
}

/** A worker for the entry; a .ts entry is loaded through tsx's require hook (a dev dependency: tests and scripts). */
export function spawnWorker(entry: string, options: WorkerOptions = {}): Worker {
  return entry.endsWith('.ts')
    ? new Worker(`require('tsx/cjs/api').register(); require(${JSON.stringify(entry)});`, { ...options, eval: true })
    : new Worker(entry, options);
}
