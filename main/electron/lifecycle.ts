// Start-up and quit of app mode as plain functions over ports (no 'electron' import), so the two
// paths that lose data or leave a zombie are tested under Node with the real core.
import type { Logger } from '../kernel/logger';

export interface StartPorts<C> {
  /** Builds the core: opening the database, migrating, starting the bridge. May throw. */
  createCore(): C | Promise<C>;
  log: Logger;
  /** dialog.showErrorBox: modal, works before any window exists. */
  showError(title: string, body: string): void;
  /** app.releaseSingleInstanceLock: the next launch must be able to start, not quit at once. */
  releaseSingleInstanceLock(): void;
  /** app.quit */
  quit(): void;
  /** Where the log is, for the message. */
  logDir: string;
}

/** What the user reads when the app cannot start: what happened, what to do, where the log is. */
export function startupFailureText(err: unknown, logDir: string): string {
  const message = err instanceof Error ? err.message : String(err);
  const hints: string[] = [];
  if (/rebuild:electron|Reinstall OmniSight/.test(message)) {
    // the message says what to do already
  } else if (/NODE_MODULE_VERSION|was compiled against a different Node\.js version|invalid ELF header|not a valid Win32 application|wrong architecture|incompatible architecture/i.test(message))
    hints.push('A native module in this install was built for another runtime or processor. Reinstall OmniSight (developers: run `npm run rebuild:electron`).');
  else if (/SQLITE_BUSY|database is locked/i.test(message)) hints.push('Another program holds the database. Close other OmniSight windows or processes and start again.');
  else if (/SQLITE_CORRUPT|malformed|not a database/i.test(message)) hints.push('The database file is damaged. Move it out of the data folder to start fresh (your old data stays in the moved file).');
  else if (/EACCES|EPERM|EROFS|ENOSPC/.test(message)) hints.push('The data folder cannot be written. Check its permissions and the free disk space.');
  else if (/newer/i.test(message)) hints.push('The data was written by a newer OmniSight. Install that version or later.');
  hints.push(`Details are in the log: ${logDir}`);
  return `${message}\n\n${hints.join('\n')}`;
}

/**
 * Builds the core. On failure: logs it, shows a dialog, releases the single-instance lock and quits,
 * so the next launch starts normally instead of finding an invisible process holding the lock.
 */
export async function startCore<C>(p: StartPorts<C>): Promise<C | undefined> {
  try {
    return await p.createCore();
  } catch (err) {
    p.log.fatal({ err }, 'OmniSight could not start');
    try {
      p.showError('OmniSight could not start', startupFailureText(err, p.logDir));
    } catch (dialogErr) {
      p.log.error({ err: dialogErr }, 'could not show the start-up error');
    }
    p.releaseSingleInstanceLock();
    p.quit();
    return undefined;
  }
}

export interface QuitPorts {
  /** Everything that must finish before the process ends: core.close() (database checkpoint, bridge.json). */
  shutdown(): Promise<void>;
  /** app.quit: called again once shutdown has finished; the guard then lets it through. */
  quit(): void;
  log: Logger;
  /** A close that hangs must not keep the app from quitting. */
  timeoutMs?: number;
  setTimer?: (fn: () => void, ms: number) => { unref?(): void };
}

/**
 * The will-quit handler. The first will-quit is held (preventDefault), shutdown runs to its end (or
 * its timeout), then quit is called again and passes. Later will-quits while closing are held too.
 */
export function createQuitGuard(p: QuitPorts): (event: { preventDefault(): void }) => void {
  let state: 'running' | 'closing' | 'closed' = 'running';
  const timeoutMs = p.timeoutMs ?? 10_000;
  const setTimer = p.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
  return (event) => {
    if (state === 'closed') return;
    event.preventDefault();
    if (state === 'closing') return;
    state = 'closing';
    const timedOut = new Promise<'timeout'>((resolve) => setTimer(() => resolve('timeout'), timeoutMs).unref?.());
    void Promise.race([p.shutdown().then(() => 'done' as const), timedOut])
      .then((r) => {
        if (r === 'timeout') p.log.error({ timeoutMs }, 'shutdown did not finish in time; quitting anyway');
      })
      .catch((err: unknown) => p.log.error({ err }, 'shutdown failed'))
      .finally(() => {
        state = 'closed';
        p.quit();
      });
  };
}
