// The Timeline view in browser mode with a small demo fleet: tracks move on the ground map, a
// restricted zone drawn in the editor across a walking person's path raises an intervention point
// with its probability and lead time.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { artifactPath, launchBrowser } from './lib/browser';
import { serve, type Served } from './lib/serve';

let server: Served;
let browser: Browser;
let page: Page;

interface TrackDom {
  id: string;
  x: number;
  y: number;
  vx: number;
  vy: number;
}

const readTracks = (): Promise<TrackDom[]> =>
  page.$$eval('svg.timeline-map g.track', (els) =>
    els.map((e) => ({ id: e.getAttribute('data-track')!, x: Number(e.getAttribute('data-x')), y: Number(e.getAttribute('data-y')), vx: Number(e.getAttribute('data-vx')), vy: Number(e.getAttribute('data-vy')) })),
  );

/** Screen position of a ground point on the map (through the SVG's own transform). */
const toScreen = (x: number, y: number): Promise<{ x: number; y: number }> =>
  page.$eval(
    'svg.timeline-map',
    (svg, p) => {
      const m = (svg as SVGSVGElement).getScreenCTM()!;
      const q = new DOMPoint(p.x, -p.y).matrixTransform(m);
      return { x: q.x, y: q.y };
    },
    { x, y },
  );

beforeAll(async () => {
  [server, browser] = await Promise.all([serve({ env: { OMNISIGHT_DEMO_CAMERAS: '3' } }), launchBrowser()]);
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 }, colorScheme: 'dark' });
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

/** Polls until the condition holds or the time is up; says which, without failing the test. */
async function until(condition: () => Promise<boolean>, timeoutMs: number, intervalMs = 250): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return true;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  return condition();
}

describe('the Timeline view', () => {
  it('shows tracks moving on the ground map and across the time strip', async () => {
    await page.goto(server.url);
    await page.getByRole('navigation', { name: 'Views' }).getByRole('button', { name: 'Timeline', exact: true }).click();
    await expect.poll(() => page.locator('svg.timeline-map g.track').count(), { timeout: 40_000, interval: 500 }).toBeGreaterThan(0);
    // Some track keeps its id and moves on the map (the view redraws live).
    const first = new Map((await readTracks()).map((t) => [t.id, t]));
    const moved = async (): Promise<number> => {
      const now = await readTracks();
      for (const t of now) if (!first.has(t.id)) first.set(t.id, t);
      return now.filter((a) => {
        const b = first.get(a.id)!;
        return Math.hypot(a.x - b.x, a.y - b.y) > 0.3;
      }).length;
    };
    await expect.poll(moved, { timeout: 20_000, interval: 500 }).toBeGreaterThan(0);
    // The time strip is a slider that follows live until scrubbed.
    const strip = page.getByRole('slider', { name: 'Timeline position' });
    expect(await strip.getAttribute('aria-valuetext')).toBe('live');
    await strip.focus();
    await page.keyboard.press('ArrowLeft');
    expect(await strip.getAttribute('aria-valuetext')).not.toBe('live');
    await page.keyboard.press('End');
    expect(await strip.getAttribute('aria-valuetext')).toBe('live');
    // Calibrations came from the simulated cameras.
    await expect.poll(() => page.getByRole('cell', { name: 'simulator' }).count(), { timeout: 10_000 }).toBe(3);
    // A camera's reference points open prefilled with what it supplied; a missing number is refused in the form.
    await page.getByRole('button', { name: /^Set reference points for / }).first().click();
    const cal = page.getByRole('form', { name: /^Reference points for / });
    await expect.poll(() => cal.getByLabel('Point 1 image u').inputValue(), { timeout: 5_000 }).not.toBe('');
    await cal.getByLabel('Point 1 image u').fill('');
    await cal.getByRole('button', { name: 'Save calibration' }).click();
    await expect.poll(() => cal.getByRole('alert').textContent(), { timeout: 5_000 }).toMatch(/Point 1 needs all four numbers/);
    await cal.getByRole('button', { name: 'Cancel' }).click();
    await page.screenshot({ path: artifactPath('timeline.png') });
  }, 60_000);

  it('is a history: leaving the view and coming back keeps the lanes from before', async () => {
    const segs = page.locator('svg.timeline-axis rect.seg.track');
    await expect.poll(() => segs.count(), { timeout: 20_000 }).toBeGreaterThan(0);
    // Wait until the history has been written (every 2 s) for what is on the strip now.
    await page.waitForTimeout(3000);
    const span = async (): Promise<number> => {
      const xs = await segs.evaluateAll((els) => els.map((e) => Number(e.getAttribute('x'))));
      return Math.min(...xs);
    };
    const earliestBefore = await span();
    await page.getByRole('navigation', { name: 'Views' }).getByRole('button', { name: 'Cameras', exact: true }).click();
    await page.waitForTimeout(3000);
    await page.getByRole('navigation', { name: 'Views' }).getByRole('button', { name: 'Timeline', exact: true }).click();
    await expect.poll(() => segs.count(), { timeout: 10_000 }).toBeGreaterThan(0);
    // The strip still starts where it started before (to the left: what was seen before leaving).
    await expect.poll(span, { timeout: 10_000 }).toBeLessThanOrEqual(earliestBefore + 5);
    // And it says the time now, not the time of a stale frame.
    expect(await page.locator('.timeline-map-bar .muted').first().textContent()).toMatch(/^Live · /);
  });

  it('draws a restricted zone across a path, saves it, and shows an intervention point', async () => {
    const items = page.locator('.intervention-item');
    for (let attempt = 0; attempt < 7; attempt++) {
      // The fastest walker, and a band across its path 2–6 m ahead of it.
      const tracks = (await readTracks()).filter((t) => Math.hypot(t.vx, t.vy) > 0.6).sort((a, b) => Math.hypot(b.vx, b.vy) - Math.hypot(a.vx, a.vy));
      if (!tracks.length) {
        await page.waitForTimeout(1000);
        continue;
      }
      const t = tracks[0]!;
      const s = Math.hypot(t.vx, t.vy);
      const [ux, uy] = [t.vx / s, t.vy / s];
      const [nx, ny] = [-uy, ux];
      const ahead = (d: number, side: number) => ({ x: t.x + ux * d + nx * side, y: t.y + uy * d + ny * side });
      // Within the map's 6 m margin around the tracks, so every corner lands on the map.
      const corners = [ahead(1.5 + s * 0.5, -5), ahead(1.5 + s * 0.5, 5), ahead(2.5 + s * 2.5, 5), ahead(2.5 + s * 2.5, -5)];
      await page.getByRole('button', { name: 'Draw zone' }).click();
      for (const c of corners) {
        const p = await toScreen(c.x, c.y);
        await page.mouse.click(p.x, p.y);
      }
      await page.getByRole('button', { name: 'Finish drawing' }).click();
      const form = page.getByRole('form', { name: 'Zone' });
      // Saving without a name is refused where the user acts.
      await form.getByRole('button', { name: 'Save zone' }).click();
      await expect.poll(() => form.getByText('Give the zone a name.').count(), { timeout: 5_000 }).toBe(1);
      await form.getByLabel('Zone name').fill(`Loading dock ${attempt + 1}`);
      await form.getByLabel('Entry probability threshold').fill('0.25');
      await form.getByLabel('Reaction time (s)').fill('1');
      await form.getByRole('button', { name: 'Save zone' }).click();
      await expect.poll(() => page.locator('.zone-list li', { hasText: `Loading dock ${attempt + 1}` }).count(), { timeout: 5_000 }).toBe(1);
      // Success is the intervention listed AND marked on the map at the same moment: a walker
      // that enters the zone or turns away clears the map marker while the list keeps its entry.
      const marker = page.locator('svg.timeline-map g.intervention');
      if (await until(async () => (await items.count()) > 0 && (await marker.count()) > 0, 8_000)) break;
      // The walker turned or stopped: remove the zone and try again with whoever walks now.
      await page.getByRole('button', { name: `Delete zone Loading dock ${attempt + 1}` }).click();
    }
    await page.screenshot({ path: artifactPath('timeline-zone.png') });
    expect(await items.count()).toBeGreaterThan(0);
    const text = (await items.first().textContent()) ?? '';
    expect(text).toMatch(/probability 0\.\d\d/);
    expect(text).toMatch(/lead time \d+\.\d s/);
  }, 110_000);
});
