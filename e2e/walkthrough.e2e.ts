// A user's first look at the demo fleet at a small window (1024×700): every view opens without a
// console error, and what was found wrong by trying it is checked where a user sees it: the swarm
// refuses nothing on a fresh start, the Performance budgets are readable, the Security log's last
// column stays on screen, and cameras are listed by name.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser } from './lib/browser';
import { serve, type Served } from './lib/serve';

const W = 1024;
let server: Served;
let browser: Browser;
let page: Page;
const problems: string[] = [];

beforeAll(async () => {
  server = await serve();
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: W, height: 700 } });
  page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
  page.on('pageerror', (e) => problems.push(e.message));
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

const open = async (view: string): Promise<void> => {
  await page.getByRole('navigation', { name: 'Views' }).getByRole('button', { name: view, exact: true }).click();
  await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe(view);
};

describe('a first look at 1024×700', () => {
  it('a fresh demo fleet: reports accepted, none refused (no "unknown session" at start)', async () => {
    await page.goto(server.url);
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'Connected' }).count(), { timeout: 30_000 }).toBe(1);
    await open('Swarm');
    const count = async (label: string): Promise<number> => Number(new RegExp(`(\\d+)\\s*${label}`).exec(await page.locator('main').innerText())?.[1] ?? NaN);
    await expect.poll(() => count('accepted'), { timeout: 30_000 }).toBeGreaterThan(200);
    expect(await count('refused')).toBe(0);
  }, 60_000);

  it('Performance: the error budgets span the page, one line per objective', async () => {
    await open('Performance');
    const table = page.getByRole('table', { name: 'Error budgets' });
    await expect.poll(() => table.locator('tbody tr').count(), { timeout: 20_000 }).toBeGreaterThan(0);
    const box = (await table.boundingBox())!;
    expect(box.width).toBeGreaterThan(W * 0.7);
    const cell = (await table.locator('tbody tr').first().locator('td').first().boundingBox())!;
    expect(cell.height).toBeLessThan(60); // it was one word per line (~170 px) in a 180 px column
  }, 30_000);

  it('Security: long fingerprints wrap, Resolve stays on screen', async () => {
    await open('Security');
    const resolve = page.getByRole('button', { name: /^Mark event \d+ resolved$/ }).first();
    await expect.poll(() => resolve.count(), { timeout: 20_000 }).toBe(1);
    const b = (await resolve.boundingBox())!;
    expect(b.x + b.width).toBeLessThanOrEqual(W);
  }, 30_000);

  it('Timeline lanes list cameras by name, in order', async () => {
    await open('Timeline');
    await expect.poll(() => page.locator('main svg text').filter({ hasText: /^Demo \d+/ }).count(), { timeout: 20_000 }).toBeGreaterThan(1);
    const lanes = await page.locator('main svg text').filter({ hasText: /^Demo \d+/ }).allTextContents();
    const nums = lanes.map((l) => Number(/^Demo (\d+)/.exec(l)![1]));
    expect(nums).toEqual([...nums].sort((a, b) => a - b));
  }, 30_000);

  it('every view opens without a console error', async () => {
    for (const v of ['Cameras', 'Swarm', 'Timeline', 'Performance', 'Deploy', 'Federated', 'Rooms', 'Agents', 'Security', 'Settings', 'Review']) await open(v);
    expect(problems).toEqual([]);
  }, 60_000);
});
