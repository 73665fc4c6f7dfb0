// The real desktop app, where an Electron binary exists (it cannot be downloaded on every machine).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { _electron as electron, type ElectronApplication } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { electronBinary } from '../scripts/lib/electron-binary.mjs';
import { artifactPath } from './lib/browser';
import { root } from './lib/serve';

const binary = electronBinary();
// On Linux without a display the spec brings its own X server (Xvfb), as CI machines have none.
const needsXvfb = process.platform === 'linux' && !process.env.DISPLAY;
const haveXvfb = spawnSync('sh', ['-c', 'command -v Xvfb']).status === 0;
// App mode loads better-sqlite3 built for Electron's ABI (README, "Two runtimes").
const sqliteBinding = path.join(root, 'build/electron-native', `${process.platform}-${process.arch}`, 'better_sqlite3.node');
const skipReason = !binary.path
  ? binary.reason
  : !fs.existsSync(sqliteBinding)
    ? `better-sqlite3 has no Electron build (${path.relative(root, sqliteBinding)}): run npm run rebuild:electron`
    : needsXvfb && !haveXvfb
      ? 'no display and no Xvfb (apt-get install xvfb)'
      : undefined;
if (skipReason) console.log(`Electron e2e skipped: ${skipReason}.`);

let xvfb: ChildProcess | undefined;
beforeAll(async () => {
  if (skipReason || !needsXvfb) return;
  const display = `:${90 + (process.pid % 9)}`;
  xvfb = spawn('Xvfb', [display, '-nolisten', 'tcp', '-screen', '0', '1440x900x24'], { stdio: 'ignore' });
  const socket = `/tmp/.X11-unix/X${display.slice(1)}`;
  const deadline = Date.now() + 10_000;
  while (!fs.existsSync(socket)) {
    if (Date.now() > deadline || xvfb.exitCode !== null) throw new Error(`Xvfb ${display} did not start`);
    await new Promise((r) => setTimeout(r, 50));
  }
  process.env.DISPLAY = display;
});
afterAll(() => {
  xvfb?.kill();
});

// Chromium's sandbox refuses to run as root; CI runners that are not root keep it on.
const sandboxArgs = process.getuid?.() === 0 ? ['--no-sandbox'] : [];
const newUserData = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'omnisight-electron-'));
const launch = (userData: string, env: Record<string, string> = {}): Promise<ElectronApplication> =>
  electron.launch({
    executablePath: binary.path,
    args: [...sandboxArgs, root, `--user-data-dir=${userData}`],
    env: { ...process.env, OMNISIGHT_DEMO_CAMERAS: '1', ...env } as Record<string, string>,
  });
const leftovers = (dir: string): string[] => fs.readdirSync(dir).filter((f) => /-(wal|shm)$|^bridge\.json$/.test(f));

describe.skipIf(!!skipReason)('the desktop app (Electron)', () => {
  it('opens the window from app://, isolated and sandboxed, keeps a setting across a relaunch and quits cleanly', async () => {
    const userData = newUserData();
    let app = await launch(userData);
    let win = await app.firstWindow();
    expect(win.url()).toMatch(/^app:\/\/omnisight\//);
    expect(await win.evaluate(() => typeof (window as unknown as { require?: unknown }).require)).toBe('undefined');
    expect(await win.evaluate(() => typeof (window as unknown as { omnisight?: unknown }).omnisight)).toBe('object');
    await win.getByRole('navigation', { name: 'Views' }).getByRole('button', { name: 'Settings', exact: true }).click();
    await win.getByLabel('Theme').selectOption('light');
    await expect.poll(() => win.getByText('Theme saved').count()).toBe(1);
    await win.screenshot({ path: artifactPath('electron-settings.png') });
    // While running: the WAL and bridge.json exist. A clean quit leaves neither.
    expect(leftovers(userData)).toContain('bridge.json');
    await app.close();
    expect(leftovers(userData)).toEqual([]);

    app = await launch(userData);
    try {
      win = await app.firstWindow();
      await win.getByRole('navigation', { name: 'Views' }).getByRole('button', { name: 'Settings', exact: true }).click();
      await expect.poll(() => win.getByLabel('Theme').inputValue()).toBe('light');
    } finally {
      await app.close();
    }
  });

  it('refuses IPC from a frame that is not the app, and blocks navigation and new windows', async () => {
    const userData = newUserData();
    const app = await launch(userData);
    try {
      const win = await app.firstWindow();
      await expect.poll(() => win.evaluate(() => typeof (window as unknown as { omnisight?: unknown }).omnisight)).toBe('object');
      // A window of another origin that still has the app's preload: its calls must be refused in main.
      const preload = path.join(root, 'out/preload/index.js');
      const foreign = await app.evaluate(async ({ BrowserWindow }, p) => {
        const w = new BrowserWindow({ show: false, webPreferences: { preload: p, sandbox: true, contextIsolation: true } });
        await w.loadURL('data:text/html,<p>not the app</p>');
        const r: unknown = await w.webContents.executeJavaScript("window.omnisight.call('settings.get', {})");
        w.destroy();
        return r;
      }, preload);
      expect(foreign).toMatchObject({ ok: false, error: { code: 'forbidden' } });
      const ownCall = await win.evaluate(() => (window as unknown as { omnisight: { call(m: string, i: unknown): Promise<unknown> } }).omnisight.call('settings.get', {}));
      expect(ownCall).toMatchObject({ ok: true });

      // Navigation away (to a loopback address nothing listens on) and window.open stay in the app.
      const before = win.url();
      await win.evaluate(() => {
        window.location.href = 'http://127.0.0.1:9/phish';
      });
      await new Promise((r) => setTimeout(r, 1000));
      expect(win.url()).toBe(before);
      expect(await win.evaluate(() => window.open('http://127.0.0.1:9/popup') === null)).toBe(true);
      expect(app.windows()).toHaveLength(1);
    } finally {
      await app.close();
    }
  });

  it("plays camera frames over the window's MessagePort (no WebSocket in app mode)", async () => {
    const app = await launch(newUserData(), { OMNISIGHT_DEMO_CAMERAS: '2' });
    try {
      const win = await app.firstWindow();
      win.setDefaultTimeout(15_000);
      await win.getByRole('navigation', { name: 'Views' }).getByRole('button', { name: 'Cameras', exact: true }).click();
      await expect.poll(() => win.getByRole('heading', { level: 1 }).textContent()).toBe('Cameras');
      // The view offers video here: the IPC transport has a binary channel.
      expect(await win.getByText(/frame port is not wired yet/).count()).toBe(0);
      const canvas = win.locator('canvas.tile-canvas[data-ts]').first();
      await expect.poll(() => canvas.count(), { timeout: 30_000 }).toBe(1);
      const first = Number(await canvas.getAttribute('data-ts'));
      expect(first).toBeGreaterThan(0);
      // A later frame is painted on the same canvas: the feed is live, not one stale picture.
      await expect.poll(async () => Number(await canvas.getAttribute('data-ts')), { timeout: 15_000 }).toBeGreaterThan(first);
      await win.screenshot({ path: artifactPath('electron-cameras.png') });
    } finally {
      await app.close();
    }
  });
});
