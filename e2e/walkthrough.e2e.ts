// A user's first look at the demo fleet at a small window (1024×700): every view opens without a
// console error, and what was found wrong by trying it is checked where a user sees it: the swarm
// refuses nothing on a fresh start, the Performance budgets are readable, the Security log's last
// column stays on screen, and cameras are listed by name.
// Then every view at 1024×768 and 1920×1080, checking by bounding boxes what a walkthrough found
// broken: swarm names cut or printed over each other, 290 px Security rows, a notification over
// Deploy, a disabled Deploy with no reason, camera tiles cut off at the bottom, a quality table cut
// sideways, headers broken mid-phrase. Screenshots go to e2e/artifacts/walkthrough-*.png.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startSimulatedFleet, type SimFleet } from '../main/camsim';
import { artifactPath, launchBrowser } from './lib/browser';
import { callApp } from './lib/call';
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
  await sim?.stop();
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

  it('Security: Resolve stays on screen', async () => {
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

// ---- every view at two sizes, checked by bounding boxes ----------------------------------------

type Box = { x: number; y: number; width: number; height: number };
const intersects = (a: Box, b: Box): boolean => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
let sim: SimFleet | undefined;

const SIZES = [
  [1024, 768],
  [1920, 1080],
] as const;

for (const [w, h] of SIZES) {
  describe(`every view at ${w}×${h}`, () => {
    let p: Page;
    const go = async (view: string): Promise<void> => {
      await p.getByRole('navigation', { name: 'Views' }).getByRole('button', { name: view, exact: true }).click();
      await expect.poll(() => p.getByRole('heading', { level: 1 }).textContent()).toBe(view);
    };
    const shot = (view: string): Promise<Buffer> => p.screenshot({ path: artifactPath(`walkthrough-${view.toLowerCase()}-${w}.png`) });
    /** Nothing in the view is wider than the view (no sideways scrolling of the whole page). */
    const noSidewaysOverflow = async (): Promise<void> => {
      const [scroll, client] = await p.locator('main').evaluate((m) => [m.scrollWidth, m.clientWidth]);
      expect(scroll).toBeLessThanOrEqual(client + 1);
    };

    beforeAll(async () => {
      p = await browser.newPage({ viewport: { width: w, height: h } });
      await p.goto(server.url);
      await p.getByRole('status').filter({ hasText: 'Connected' }).waitFor({ timeout: 30_000 });
    }, 60_000);
    afterAll(async () => {
      await p?.close();
    });

    it('Cameras: a page of 4 tiles fits the window, the bottom row included', async () => {
      await go('Cameras');
      await p.getByRole('button', { name: '4 cameras per page' }).click();
      const tiles = p.locator('.grid article.tile');
      await expect.poll(() => tiles.count(), { timeout: 20_000 }).toBe(4);
      const main = (await p.locator('main').boundingBox())!;
      for (const t of await tiles.all()) {
        const b = (await t.boundingBox())!;
        expect(b.y + b.height).toBeLessThanOrEqual(main.y + main.height);
        expect(b.x + b.width).toBeLessThanOrEqual(main.x + main.width);
      }
      await noSidewaysOverflow();
      await p.waitForTimeout(1500);
      await shot('Cameras');
    }, 60_000);

    it('Swarm: every camera named whole, no name over another or outside the graph', async () => {
      await go('Swarm');
      const canvas = p.getByRole('img', { name: /Swarm topology/ });
      await expect.poll(() => canvas.getAttribute('aria-label'), { timeout: 30_000 }).toMatch(/\d+ cameras/);
      const cameras = Number(/(\d+) cameras/.exec((await canvas.getAttribute('aria-label'))!)![1]);
      // The layout settles, then the names are placed (data-labels: what was drawn, and where).
      await p.waitForTimeout(3000);
      type Label = { id: string; text: string } & Box & { w: number; h: number };
      const labels = async (): Promise<Label[]> => JSON.parse((await canvas.getAttribute('data-labels')) ?? '[]') as Label[];
      await expect.poll(async () => (await labels()).length, { timeout: 15_000 }).toBe(cameras);
      const placed = (await labels()).map((l) => ({ ...l, width: l.w, height: l.h }));
      const size = (await canvas.boundingBox())!;
      for (const l of placed) {
        expect(l.text).toMatch(/^Demo \d+ \([A-Z0-9-]+\)$/); // the whole name, not "Demo 7 (P3265…"
        expect(l.x).toBeGreaterThanOrEqual(0);
        expect(l.y).toBeGreaterThanOrEqual(0);
        expect(l.x + l.width).toBeLessThanOrEqual(size.width);
        expect(l.y + l.height).toBeLessThanOrEqual(size.height);
      }
      for (let i = 0; i < placed.length; i++) for (let j = i + 1; j < placed.length; j++) expect(intersects(placed[i]!, placed[j]!), `${placed[i]!.text} / ${placed[j]!.text}`).toBe(false);
      await noSidewaysOverflow();
      await shot('Swarm');
    }, 60_000);

    it('Timeline: the quality table fits its card, names whole and in name order', async () => {
      await go('Timeline');
      const card = p.getByRole('region', { name: 'Prediction quality' });
      await expect.poll(() => card.locator('tbody tr').count(), { timeout: 20_000 }).toBeGreaterThan(2);
      const [scroll, client] = await card.evaluate((c) => [c.scrollWidth, c.clientWidth]);
      expect(scroll).toBeLessThanOrEqual(client + 1);
      const cells = card.locator('tbody tr:not(.overall) td:first-child');
      for (const c of await cells.all()) {
        const [sw, cw, ch] = await c.evaluate((td) => [td.scrollWidth, td.clientWidth, td.getBoundingClientRect().height]);
        expect(sw).toBeLessThanOrEqual(cw); // not cut with an ellipsis
        expect(ch).toBeLessThan(40); // on one line
      }
      const names = (await cells.allTextContents()).map((t) => Number(/^Demo (\d+)/.exec(t)?.[1]));
      expect(names).toEqual([...names].sort((a, b) => a - b));
      await noSidewaysOverflow();
      await shot('Timeline');
    }, 60_000);

    it('Performance: budget headers on one line, the table within the view', async () => {
      await go('Performance');
      const table = p.getByRole('table', { name: 'Error budgets' });
      await expect.poll(() => table.locator('tbody tr').count(), { timeout: 20_000 }).toBeGreaterThan(0);
      for (const th of await table.locator('th').all()) expect((await th.boundingBox())!.height).toBeLessThan(40);
      await noSidewaysOverflow();
      await shot('Performance');
    }, 60_000);

    it('Deploy: while disabled, the line beside it says what Deploy waits for; on screen', async () => {
      await go('Deploy');
      const deploy = p.locator('main').getByRole('button', { name: /^Deploy/ });
      expect(await deploy.isDisabled()).toBe(true);
      const why = p.locator('#deploy-blocker');
      // A build may already be listed (one made from native/ earlier on this machine); no camera is chosen yet.
      await expect.poll(() => why.textContent()).toMatch(/^Deploy waits for (a build \(1\. Build\) and )?at least one camera \(2\. Cameras\), then a check\.$/);
      const d = (await deploy.boundingBox())!;
      const y = (await why.boundingBox())!;
      expect(intersects(d, y)).toBe(false);
      expect(y.x + y.width).toBeLessThanOrEqual(w);
      await noSidewaysOverflow();
      await shot('Deploy');
    }, 60_000);

    it('Federated: no card sits alone beside an empty cell, nothing overflows', async () => {
      await go('Federated');
      const cards = p.locator('.fed-grid > .fed-card');
      await expect.poll(() => cards.count(), { timeout: 20_000 }).toBeGreaterThanOrEqual(3);
      const boxes = await Promise.all((await cards.all()).slice(0, 3).map(async (c) => (await c.boundingBox())!));
      // Each card has a neighbour on its row (three in a row, or two beside the tall text card).
      for (const [i, b] of boxes.entries()) {
        const beside = boxes.some((o, j) => j !== i && o.y < b.y + b.height && b.y < o.y + o.height);
        expect(beside, `card ${i + 1} alone on its row`).toBe(true);
      }
      await noSidewaysOverflow();
      await shot('Federated');
    }, 60_000);

    it('Rooms, Settings: open within the view', async () => {
      for (const v of ['Rooms', 'Settings']) {
        await go(v);
        await noSidewaysOverflow();
        await shot(v);
      }
    }, 60_000);

    it('Agents: the token form keeps each field whole (scopes on one line, the expiry label on one line)', async () => {
      await go('Agents');
      const scopes = p.getByRole('group', { name: 'Scopes' });
      await expect.poll(() => scopes.count()).toBe(1);
      const boxes = await Promise.all((await scopes.getByRole('checkbox').all()).map(async (c) => (await c.boundingBox())!));
      expect(new Set(boxes.map((b) => Math.round(b.y))).size).toBe(1);
      const expires = p.locator('.token-form label').filter({ hasText: 'Expires after' });
      const lineHeight = await expires.evaluate((l) => parseFloat(getComputedStyle(l).lineHeight));
      const textHeight = await expires.evaluate((l) => {
        const r = document.createRange();
        r.selectNodeContents(l.firstChild!);
        return r.getBoundingClientRect().height;
      });
      expect(textHeight).toBeLessThan(lineHeight * 1.5);
      await noSidewaysOverflow();
      await shot('Agents');
    }, 60_000);

    it('Security: rows stay short, fingerprints shortened with the whole one in the title and a copy button', async () => {
      await go('Security');
      const rows = p.getByRole('table', { name: 'Audit events' }).locator('tbody tr');
      await expect.poll(() => rows.count(), { timeout: 20_000 }).toBeGreaterThan(0);
      const fp = p.locator('.fingerprint-short code').first();
      await expect.poll(() => fp.count(), { timeout: 20_000 }).toBe(1);
      expect(await fp.getAttribute('title')).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
      expect(await fp.textContent()).toMatch(/^([0-9A-F]{2}:){3}[0-9A-F]{2}…([0-9A-F]{2}:){3}[0-9A-F]{2}$/);
      expect(await p.getByRole('button', { name: /^Copy fingerprint / }).count()).toBeGreaterThan(0);
      await shot('Security');
      // They were ~290 px (a fingerprint wrapped over four lines, twice).
      for (const r of (await rows.all()).slice(0, 12)) expect((await r.boundingBox())!.height).toBeLessThan(w < 1200 ? 180 : 120);
      const resolve = p.getByRole('button', { name: /^Mark event \d+ resolved$/ }).first();
      const b = (await resolve.boundingBox())!;
      expect(b.x + b.width).toBeLessThanOrEqual(w);
      await noSidewaysOverflow();
    }, 60_000);

    it('Review: snapshots grow with the card on a wide window, nothing overflows', async () => {
      await go('Review');
      const snaps = p.locator('.review-snap');
      await expect.poll(() => snaps.count(), { timeout: 30_000 }).toBeGreaterThan(0);
      if (w >= 1900) expect((await snaps.first().boundingBox())!.width).toBeGreaterThan(300);
      await noSidewaysOverflow();
      await p.waitForTimeout(1000);
      await shot('Review');
    }, 60_000);
  });
}

describe('a notification never covers a control', () => {
  it('the quarantine notification has its own row, off the Deploy button, with a clock time (not epoch ms)', async () => {
    const p = await browser.newPage({ viewport: { width: 1024, height: 768 } });
    try {
      sim = await startSimulatedFleet({ cameras: 1, seed: 4243, apps: 'agent' });
      const cam = sim.cameras[0]!;
      const call = <T,>(method: string, input: unknown): Promise<T> => callApp<T>(server, method, input);
      const cert = await call<{ fingerprint: string }>('fleet.certificate', { address: new URL(cam.url).host, httpsPort: cam.httpsPort });
      await call('fleet.add', { address: new URL(cam.url).host, username: cam.username, password: cam.password, name: 'Liar', httpsPort: cam.httpsPort, fingerprint: cert.fingerprint });
      // In the swarm (its key enrolled, its reports counted) before it starts lying.
      type Status = { graph: { nodes: { id: string }[] } };
      await expect.poll(async () => (await call<Status>('swarm.status', {})).graph.nodes.some((n) => n.id === cam.serial), { timeout: 30_000 }).toBe(true);
      await p.goto(server.url);
      await p.getByRole('navigation', { name: 'Views' }).getByRole('button', { name: 'Deploy', exact: true }).click();
      sim.faults(cam.id).lie(true);
      sim.faults(cam.id).equivocate(true);
      const toast = p.getByRole('region', { name: 'Notifications' }).getByRole('alert').filter({ hasText: 'Camera quarantined' });
      await expect.poll(() => toast.count(), { timeout: 45_000 }).toBe(1);
      const text = (await toast.textContent())!;
      expect(text).toMatch(/at \d\d:\d\d:\d\d\.\d{3}/);
      expect(text).not.toMatch(/\d{12,}/);
      // Scrolled to (a box below the fold lies under the status bar's row without being seen there).
      const button = p.locator('main').getByRole('button', { name: /^Deploy/ });
      await button.scrollIntoViewIfNeeded();
      const t = (await toast.boundingBox())!;
      const main = (await p.locator('main').boundingBox())!;
      expect(intersects(t, main)).toBe(false);
      const deploy = (await button.boundingBox())!;
      expect(intersects(deploy, main)).toBe(true);
      expect(intersects(t, deploy)).toBe(false);
      // And what is on top at the button's centre is the button itself.
      expect(await p.evaluate(([x, y]) => document.elementFromPoint(x!, y!)?.closest('button')?.textContent ?? null, [deploy.x + deploy.width / 2, deploy.y + deploy.height / 2])).toMatch(/^Deploy/);
      await p.screenshot({ path: artifactPath('walkthrough-toast-deploy-1024.png') });
    } finally {
      await p.close();
    }
  }, 90_000);
});
