import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { createTestApp, tempDir } from '../app/testkit';
import { silentLogger } from '../kernel/logger';
import { createQuitGuard, startCore, startupFailureText } from './lifecycle';

const leftovers = (dir: string): string[] => fs.readdirSync(dir).filter((f) => /-(wal|shm)$|^bridge\.json$/.test(f));

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('start-up failure', () => {
  it('shows what happened, releases the single-instance lock and quits when the core cannot open its data folder', async () => {
    const parent = tempDir();
    const notADir = path.join(parent, 'data');
    fs.writeFileSync(notADir, 'a file where the data folder should be');
    const calls: string[] = [];
    const showError = vi.fn((title: string, body: string) => calls.push(`dialog:${title}:${body}`));
    const core = await startCore({
      createCore: () => createTestApp({ dataDir: notADir }),
      log: silentLogger(),
      logDir: path.join(parent, 'logs'),
      showError,
      releaseSingleInstanceLock: () => calls.push('release'),
      quit: () => calls.push('quit'),
    });
    expect(core).toBeUndefined();
    expect(calls).toHaveLength(3);
    expect(calls[0]).toMatch(/^dialog:OmniSight could not start:.*(EEXIST|ENOTDIR)/s);
    expect(calls[0]).toContain(path.join(parent, 'logs'));
    expect(calls.slice(1)).toEqual(['release', 'quit']);
  });

  it('starts normally (no dialog, lock kept) when the core opens', async () => {
    const quit = vi.fn();
    const release = vi.fn();
    const core = await startCore({ createCore: () => createTestApp(), log: silentLogger(), logDir: '/tmp', showError: vi.fn(), releaseSingleInstanceLock: release, quit });
    expect(core).toBeDefined();
    expect(quit).not.toHaveBeenCalled();
    expect(release).not.toHaveBeenCalled();
    await core!.close();
  });

  it('names the fix for a native module built for another runtime', () => {
    const text = startupFailureText(new Error('The module was compiled against a different Node.js version using NODE_MODULE_VERSION 115. This version requires NODE_MODULE_VERSION 150.'), '/logs');
    expect(text).toMatch(/rebuild:electron/);
    expect(text).toMatch(/\/logs/);
  });
});

describe('quit', () => {
  it('holds will-quit until the core has closed: no WAL, no shm, no stale bridge.json, then quits once', async () => {
    const core = createTestApp();
    await core.agents.start();
    core.settings.set({ theme: 'dark' }); // a committed write: the WAL has content
    expect(leftovers(core.dataDir).sort()).toEqual(['bridge.json', 'omnisight.db-shm', 'omnisight.db-wal']);

    const quit = vi.fn();
    let closed = false;
    const onWillQuit = createQuitGuard({
      shutdown: async () => {
        await core.close();
        closed = true;
      },
      quit,
      log: silentLogger(),
    });
    const first = { preventDefault: vi.fn() };
    onWillQuit(first);
    expect(first.preventDefault).toHaveBeenCalled();
    expect(quit).not.toHaveBeenCalled(); // the process would have ended here before the fix

    const during = { preventDefault: vi.fn() };
    onWillQuit(during); // a second Quit click while closing is held too
    expect(during.preventDefault).toHaveBeenCalled();

    await until(() => quit.mock.calls.length > 0);
    expect(closed).toBe(true);
    expect(quit).toHaveBeenCalledTimes(1);
    expect(leftovers(core.dataDir)).toEqual([]);

    const again = { preventDefault: vi.fn() };
    onWillQuit(again); // the will-quit of the second app.quit() passes
    expect(again.preventDefault).not.toHaveBeenCalled();
  });

  it('quits anyway when shutdown hangs or fails, and says so in the log', async () => {
    const log = silentLogger();
    const error = vi.spyOn(log, 'error');
    let fire: (() => void) | undefined;
    const quit = vi.fn();
    const guard = createQuitGuard({ shutdown: () => new Promise(() => {}), quit, log, timeoutMs: 5, setTimer: (fn) => ((fire = fn), {}) });
    guard({ preventDefault: () => {} });
    fire!();
    await until(() => quit.mock.calls.length > 0);
    expect(error.mock.calls[0]?.[1]).toMatch(/did not finish in time/);

    const quit2 = vi.fn();
    createQuitGuard({ shutdown: () => Promise.reject(new Error('boom')), quit: quit2, log })({ preventDefault: () => {} });
    await until(() => quit2.mock.calls.length > 0);
    expect(error.mock.calls.at(-1)?.[1]).toBe('shutdown failed');
  });
});
