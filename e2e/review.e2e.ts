// The event review with the demo fleet: confirmed events arrive with a snapshot from each confirming
// camera (taken over VAPIX by the app at confirmation), are reviewed with the keyboard, and lead to
// the Timeline.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { artifactPath, launchBrowser } from './lib/browser';
import { callApp } from './lib/call';
import { serve, type Served } from './lib/serve';

let server: Served;
let browser: Browser;
let page: Page;

/** One contract call to the app under test (e2e/lib/call.ts). */
const call = <T,>(method: string, input: unknown): Promise<T> => callApp<T>(server, method, input);

type Listed = { items: { id: number; reviewedAt: number | null; snapshots: { camera: string; sha256: string | null }[] }[]; unreviewed: number };

beforeAll(async () => {
  [server, browser] = await Promise.all([serve({ env: { OMNISIGHT_DEMO_CAMERAS: '6' } }), launchBrowser()]);
  page = await browser.newPage({ viewport: { width: 1280, height: 900 }, colorScheme: 'dark' });
});
afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

describe('event review in browser mode', () => {
  it('lists confirmed events with the snapshots their cameras took, and reviews them with the keyboard', async () => {
    // The app took the pictures itself, over VAPIX, when the swarm confirmed an event.
    await expect
      .poll(async () => (await call<Listed>('review.list', { reviewed: 'all', limit: 20 })).items.some((i) => i.snapshots.some((s) => s.sha256)), { timeout: 90_000, interval: 1000 })
      .toBe(true);
    await page.goto(server.url);
    await page.getByRole('navigation', { name: 'Views' }).getByRole('button', { name: 'Review', exact: true }).click();
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Review');
    const list = page.getByRole('list', { name: 'Events to review' });
    const img = list.getByRole('img', { name: /^Snapshot from / }).first();
    await expect.poll(() => img.evaluate((el) => (el as HTMLImageElement).naturalWidth), { timeout: 15_000 }).toBeGreaterThan(100);
    // Named, not by serial.
    expect(await img.getAttribute('alt')).toMatch(/^Snapshot from Demo/);
    await page.screenshot({ path: artifactPath('review.png') });

    expect((await call<Listed>('review.list', { reviewed: 'unreviewed', limit: 500 })).unreviewed).toBeGreaterThan(0);
    await list.focus();
    await page.keyboard.press('ArrowDown');
    const chosen = Number(await list.locator('[aria-selected="true"]').getAttribute('data-id'));
    await page.keyboard.press('r');
    await expect.poll(async () => (await call<Listed>('review.list', { reviewed: 'reviewed', limit: 500 })).items.map((i) => i.id), { timeout: 10_000 }).toContain(chosen);
    // The count alone cannot show it: the demo fleet keeps confirming new events meanwhile.
    expect((await call<Listed>('review.list', { reviewed: 'unreviewed', limit: 500 })).items.map((i) => i.id)).not.toContain(chosen);
    // Reviewed ones leave the "Not reviewed" list.
    await expect.poll(() => list.locator(`[data-id="${chosen}"]`).count(), { timeout: 10_000 }).toBe(0);

    // T opens the Timeline at that moment.
    await list.focus();
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('t');
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Timeline');
  });

  it('fits a 1024×700 window: whole camera names on 16 tiles, a composer wide enough to write in', async () => {
    await page.setViewportSize({ width: 1024, height: 700 });
    await page.getByRole('navigation', { name: 'Views' }).getByRole('button', { name: 'Cameras', exact: true }).click();
    await page.getByRole('button', { name: '16 cameras per page' }).click();
    const names = page.locator('.tile-name');
    await expect.poll(() => names.count(), { timeout: 15_000 }).toBe(6);
    const cut = await names.evaluateAll((els) => els.filter((e) => e.scrollWidth > e.clientWidth + 1).map((e) => e.textContent));
    expect(cut).toEqual([]);
    await call('rooms.create', { name: 'Narrow', defaultRule: 'majority' });
    await page.getByRole('navigation', { name: 'Views' }).getByRole('button', { name: 'Rooms', exact: true }).click();
    await page.getByRole('button', { name: /^Narrow/ }).click();
    const box = await page.getByRole('textbox', { name: 'Message' }).boundingBox();
    expect(box!.width).toBeGreaterThan(300);
    await page.screenshot({ path: artifactPath('rooms-1024.png') });
  });
});
