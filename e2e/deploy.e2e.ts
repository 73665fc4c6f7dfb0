// The Deploy view in browser mode: serve runs a demo fleet of 3 simulated cameras; the test picks
// the native build, selects the cameras, reads the preflight, deploys and waits for every camera
// to report "running <version> (verified)".
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { artifactPath, launchBrowser } from './lib/browser';
import { root, serve, type Served } from './lib/serve';

let server: Served;
let browser: Browser;
let page: Page;
const dist = path.join(root, 'native/dist');
const findEap = (): string | undefined => (fs.existsSync(dist) ? fs.readdirSync(dist).find((f) => f.endsWith('.eap')) : undefined);
// A fresh checkout has no build yet: make one (under 5 s) when the cross toolchain is installed.
if (!findEap()) {
  const r = spawnSync(process.execPath, [path.join(root, 'node_modules/tsx/dist/cli.mjs'), 'scripts/build-camera-app.ts'], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) console.warn(`deploy e2e: building the camera app failed (scripts/setup-cross.sh installs the toolchain):\n${r.stderr}`);
}
const eap = findEap();
if (!eap) console.warn('deploy e2e skipped: no .eap in native/dist and none could be built (run scripts/setup-cross.sh, then npm run build:camera-app)');

describe.skipIf(!eap)('deploy in browser mode', () => {
  beforeAll(async () => {
    [server, browser] = await Promise.all([serve({ env: { OMNISIGHT_DEMO_CAMERAS: '3' } }), launchBrowser()]);
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 }, colorScheme: 'dark' });
    page.setDefaultTimeout(15_000);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('picks the build, checks the cameras, deploys and ends verified on every camera', async () => {
    await page.goto(server.url);
    await page.getByRole('navigation', { name: 'Views' }).getByRole('button', { name: 'Deploy', exact: true }).click();
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Deploy');
    const version = /_(\d+)_(\d+)_(\d+)_/.exec(eap!)!.slice(1).join('.');
    const option = page.getByRole('combobox', { name: 'Build' }).locator('option', { hasText: eap! }).first();
    await expect.poll(() => option.count(), { timeout: 20_000 }).toBe(1);
    await page.getByRole('combobox', { name: 'Build' }).selectOption({ value: (await option.getAttribute('value'))! });
    // The demo cameras register in the background: wait for all three rows.
    await expect.poll(() => page.getByRole('checkbox', { name: /^Select / }).count(), { timeout: 30_000 }).toBe(3);
    // Zone filter: the swarm's coverage of the demo scene; a zone shows exactly the cameras covering it.
    const zoneSelect = page.getByRole('combobox', { name: 'Filter by zone' });
    await expect.poll(() => zoneSelect.locator('option').count(), { timeout: 30_000 }).toBeGreaterThan(1);
    const zoneOption = zoneSelect.locator('option').nth(1);
    const covering = Number(/\((\d+)\)$/.exec((await zoneOption.textContent()) ?? '')?.[1]);
    await zoneSelect.selectOption({ value: (await zoneOption.getAttribute('value'))! });
    await expect.poll(() => page.getByRole('checkbox', { name: /^Select / }).count()).toBe(covering);
    await zoneSelect.selectOption({ value: '' });
    await expect.poll(() => page.getByRole('checkbox', { name: /^Select / }).count()).toBe(3);
    await page.getByRole('button', { name: 'Select shown' }).click();
    await page.getByRole('button', { name: 'Check 3 camera(s)' }).click();
    const preflight = page.getByRole('table', { name: 'Preflight' });
    await expect.poll(() => preflight.locator('tbody tr').count(), { timeout: 30_000 }).toBe(3);
    expect(await preflight.locator('tbody').textContent()).toMatch(/ready/);
    await page.getByRole('button', { name: 'Deploy to 3' }).click();
    const rows = page.locator('.deploy-progress li');
    await expect.poll(() => rows.count()).toBe(3);
    await expect
      .poll(async () => (await rows.allTextContents()).filter((t) => t.includes(`running ${version} (verified)`)).length, { timeout: 90_000, interval: 500 })
      .toBe(3);
    await page.screenshot({ path: artifactPath('deploy.png'), fullPage: true });
    // The history shows the deploy with its outcome.
    await expect.poll(() => page.locator('.deploy-history li').first().textContent(), { timeout: 10_000 }).toMatch(/3 verified/);
  }, 150_000);
});
