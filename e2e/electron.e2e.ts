// The real desktop app, where an Electron binary exists (it cannot be downloaded on every machine).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { _electron as electron } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { electronBinary } from '../scripts/lib/electron-binary.mjs';
import { artifactPath } from './lib/browser';
import { root } from './lib/serve';

const binary = electronBinary();
// On Linux without a display the spec brings its own X server (Xvfb), as CI machines have none.
const needsXvfb = process.platform === 'linux' && !process.env.DISPLAY;
const haveXvfb = spawnSync('sh', ['-c', 'command -v Xvfb']).status === 0;
const skipReason = !binary.path ? binary.reason : needsXvfb && !haveXvfb ? 'no display and no Xvfb (apt-get install xvfb)' : undefined;
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

describe.skipIf(!!skipReason)('the desktop app (Electron)', () => {
  it('opens the window from app://, isolated and sandboxed, and keeps a setting', async () => {
    const userData = fs.mkdtempSync(path.join(os.tmpdir(), 'omnisight-electron-'));
    const app = await electron.launch({ executablePath: binary.path, args: [root, `--user-data-dir=${userData}`] });
    const win = await app.firstWindow();
    expect(win.url()).toMatch(/^app:\/\/omnisight\//);
    expect(await win.evaluate(() => typeof (window as unknown as { require?: unknown }).require)).toBe('undefined');
    expect(await win.evaluate(() => typeof (window as unknown as { omnisight?: unknown }).omnisight)).toBe('object');
    await win.getByRole('navigation', { name: 'Views' }).getByRole('button', { name: 'Settings', exact: true }).click();
    await win.getByLabel('Theme').selectOption('light');
    await expect.poll(() => win.getByText('Theme saved').count()).toBe(1);
    await win.screenshot({ path: artifactPath('electron-settings.png') });
    await app.close();
  });

  it('plays camera frames over the window\'s MessagePort (no WebSocket in app mode)', async () => {
    const userData = fs.mkdtempSync(path.join(os.tmpdir(), 'omnisight-electron-'));
    const app = await electron.launch({
      executablePath: binary.path,
      args: [root, `--user-data-dir=${userData}`],
      env: { ...process.env, OMNISIGHT_DEMO_CAMERAS: '2' } as Record<string, string>,
    });
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
