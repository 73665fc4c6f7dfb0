// The real desktop app, where an Electron binary exists (it cannot be downloaded on every machine).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { _electron as electron } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { electronBinary } from '../scripts/lib/electron-binary.mjs';
import { artifactPath } from './lib/browser';
import { root } from './lib/serve';

const binary = electronBinary();
const hasDisplay = !!process.env.DISPLAY || process.platform !== 'linux';
const skipReason = !binary.path ? binary.reason : !hasDisplay ? 'no display (run under xvfb-run)' : undefined;
if (skipReason) console.log(`Electron e2e skipped: ${skipReason}.`);

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
