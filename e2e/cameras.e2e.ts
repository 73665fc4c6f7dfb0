// The Cameras view in browser mode against real peers: serve runs its own simulated demo fleet
// (15 cameras), and this test runs one more simulated camera in its own process to add by hand —
// over HTTP, Digest, MJPEG and MQTT like a real Axis camera.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startSimulatedFleet } from '../main/camsim';
import type { SimFleet } from '../main/camsim';
import { artifactPath, launchBrowser } from './lib/browser';
import { serve, type Served } from './lib/serve';

interface Stat {
  cameraId: string;
  painted: number;
  boxesDrawn: number;
  recentTs: number[];
  paintedWithDetections: number;
  paintedWithOwnBoxes: number;
  size: string | undefined;
}

let sim: SimFleet;
let server: Served;
let browser: Browser;
let page: Page;

const stats = (): Promise<Stat[]> =>
  page.evaluate(() => (window as unknown as { __omnisightFeeds?: { stats(): Stat[] } }).__omnisightFeeds?.stats() ?? []);
const tiles = () => page.locator('.grid article.tile');
const tile = (name: string) => page.locator(`article.tile[aria-label="${name}"]`);

beforeAll(async () => {
  [sim, server, browser] = await Promise.all([
    startSimulatedFleet({ cameras: 1, seed: 7 }),
    serve({ env: { OMNISIGHT_DEMO_CAMERAS: '15' } }),
    launchBrowser(),
  ]);
  page = await browser.newPage({ viewport: { width: 1400, height: 900 }, colorScheme: 'dark' });
  page.setDefaultTimeout(10_000);
});
afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await sim?.stop();
});

describe('cameras in browser mode', () => {
  it('opens on the Cameras view with the simulated fleet registered and streaming', async () => {
    await page.goto(server.url);
    // Cameras is the first view (Alt+1), the one a fresh profile opens on.
    await expect.poll(() => page.getByRole('navigation', { name: 'Views' }).getByRole('button').first().getAttribute('aria-label')).toBe('Cameras');
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Cameras');
    await expect.poll(() => page.getByText('Page 1 of 4').count(), { timeout: 20_000 }).toBe(1);
    await expect.poll(() => tiles().count()).toBe(4);
    await expect.poll(async () => (await stats()).filter((s) => s.painted >= 2).length, { timeout: 15_000 }).toBe(4);
    expect((await stats()).every((s) => s.size === undefined || s.size === '640x360@10')).toBe(true);
  });

  it('shows the camera\'s own error under the form, then adds it with the right password', async () => {
    const cam = sim.cameras[0]!;
    await page.getByRole('button', { name: 'Add camera' }).first().click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Address').fill(new URL(cam.url).host);
    await dialog.getByLabel('User name').fill(cam.username);
    await dialog.getByLabel('Password').fill('not-the-password');
    await dialog.getByRole('textbox', { name: /^Display name/ }).fill('Added by hand');
    await dialog.getByRole('textbox', { name: /^HTTPS port/ }).fill(String(cam.httpsPort));
    // The camera's certificate is shown first; its fingerprint is what gets pinned.
    await dialog.getByRole('button', { name: 'Next: show its certificate' }).click();
    await expect.poll(() => dialog.locator('.fingerprint').textContent(), { timeout: 15_000 }).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    await dialog.getByRole('button', { name: 'Trust this certificate and add' }).click();
    await expect.poll(() => dialog.getByRole('alert').textContent(), { timeout: 15_000 }).toMatch(/refused user/i);
    await page.screenshot({ path: artifactPath('cameras-add-error.png') });

    await dialog.getByLabel('Password').fill(cam.password);
    await dialog.getByRole('button', { name: 'Trust this certificate and add' }).click();
    await expect.poll(() => page.getByRole('dialog').count(), { timeout: 15_000 }).toBe(0);
    await expect.poll(() => tile('Added by hand').count()).toBe(1);
  });

  it('plays the added camera with boxes drawn on the frames they belong to', async () => {
    const id = (await tile('Added by hand').getAttribute('data-camera'))!;
    await expect
      .poll(
        async () => {
          const s = (await stats()).find((x) => x.cameraId === id);
          // Frames painted with the boxes of their own capture time (the page's ledger), not only "some boxes".
          return !!s && new Set(s.recentTs).size >= 2 && s.boxesDrawn > 0 && s.paintedWithOwnBoxes > 0;
        },
        { timeout: 20_000 },
      )
      .toBe(true);
    await expect.poll(() => tile('Added by hand').locator('.tile-state').textContent(), { timeout: 10_000 }).toBe('Online');
  });

  it('shows 16 live feeds in the 16 layout, each asked for at the tile size', async () => {
    await page.getByRole('button', { name: '16 cameras per page' }).click();
    await expect.poll(() => tiles().count()).toBe(16);
    await page.evaluate(() => (window as unknown as { __omnisightFeeds: { resetStats(): void } }).__omnisightFeeds.resetStats());
    await expect
      .poll(async () => (await stats()).filter((s) => s.painted >= 3 && s.size === '320x180@10').length, { timeout: 20_000 })
      .toBe(16);
    await page.screenshot({ path: artifactPath('cameras-grid.png') });
  });

  it('marks a stalled camera with since when, and recovers to online', async () => {
    const faults = sim.faults(sim.cameras[0]!.id);
    faults.stallStream(true);
    await expect.poll(() => tile('Added by hand').getAttribute('data-state'), { timeout: 15_000 }).toBe('stalled');
    expect(await tile('Added by hand').getByRole('status').textContent()).toMatch(/^Stalled since \d\d:\d\d:\d\d/);
    await page.screenshot({ path: artifactPath('cameras-stalled.png') });
    faults.stallStream(false);
    await expect.poll(() => tile('Added by hand').getAttribute('data-state'), { timeout: 20_000 }).toBe('online');
  });

  it('counts corrupt MJPEG parts on the tile, and the feed carries on', async () => {
    sim.faults(sim.cameras[0]!.id).corruptNextFrames(6);
    await expect.poll(() => tile('Added by hand').locator('.tile-bad').getAttribute('aria-label'), { timeout: 15_000 }).toMatch(/^Bad input: [1-9]/);
    expect(await tile('Added by hand').locator('.tile-bad').getAttribute('aria-label')).toMatch(/Malformed MJPEG parts \/ truncated JPEGs: [1-9]/);
    await expect.poll(() => tile('Added by hand').getAttribute('data-state')).toBe('online');
  });

  it('focuses one camera large and returns with Escape; the layout is remembered', async () => {
    await page.getByRole('button', { name: 'Focus Added by hand' }).click();
    await expect.poll(() => page.getByRole('button', { name: 'Back to grid' }).count()).toBe(1);
    const id = (await tile('Added by hand').getAttribute('data-camera'))!;
    await expect.poll(async () => (await stats()).find((s) => s.cameraId === id)?.size, { timeout: 10_000 }).toBe('1280x720@10');
    // The focused tile fills the view (it once collapsed to a few pixels).
    const box = await tile('Added by hand').boundingBox();
    expect(box!.width).toBeGreaterThan(600);
    expect(box!.height).toBeGreaterThan(300);
    await page.screenshot({ path: artifactPath('cameras-focus.png') });
    await page.keyboard.press('Escape');
    await expect.poll(() => tiles().count()).toBe(16);
    await page.reload();
    await expect.poll(() => page.getByRole('button', { name: '16 cameras per page' }).getAttribute('aria-pressed'), { timeout: 15_000 }).toBe('true');
  });

  it('switches the boxes off for one camera only, and remembers it', async () => {
    const canvasOf = (name: string) => tile(name).locator('canvas');
    await expect.poll(async () => Number(await canvasOf('Added by hand').getAttribute('data-boxes')), { timeout: 20_000 }).toBeGreaterThan(0);
    await tile('Added by hand').getByRole('button', { name: 'Overlay on Added by hand' }).click();
    await page.getByRole('menuitemcheckbox', { name: 'Boxes' }).click();
    await page.keyboard.press('Escape');
    await expect.poll(async () => canvasOf('Added by hand').getAttribute('data-boxes'), { timeout: 10_000 }).toBe('0');
    // Still 0 a while later, on new frames.
    const ts = await canvasOf('Added by hand').getAttribute('data-ts');
    await expect.poll(async () => canvasOf('Added by hand').getAttribute('data-ts'), { timeout: 10_000 }).not.toBe(ts);
    expect(await canvasOf('Added by hand').getAttribute('data-boxes')).toBe('0');
    await page.reload();
    await tile('Added by hand').getByRole('button', { name: 'Overlay on Added by hand' }).click();
    expect(await page.getByRole('menuitemcheckbox', { name: 'Boxes' }).getAttribute('aria-checked')).toBe('false');
    await page.getByRole('menuitemcheckbox', { name: 'Boxes' }).click();
    await page.keyboard.press('Escape');
  });

  it('draws the zones on a calibrated demo camera when switched on, and remembers it', async () => {
    const first = tiles().first();
    const name = (await first.getAttribute('aria-label'))!;
    const canvas = tile(name).locator('canvas');
    await expect.poll(async () => canvas.getAttribute('data-ts'), { timeout: 15_000 }).toBeTruthy();
    // Off by default: no zone drawn.
    expect(await canvas.getAttribute('data-zones')).toBe('0');
    await tile(name).getByRole('button', { name: `Overlay on ${name}` }).click();
    expect(await page.getByRole('menuitemcheckbox', { name: 'Zones' }).getAttribute('aria-checked')).toBe('false');
    await page.getByRole('menuitemcheckbox', { name: 'Zones' }).click();
    await page.keyboard.press('Escape');
    // The demo scene's zones, projected through the camera's calibration.
    await expect.poll(async () => Number(await canvas.getAttribute('data-zones')), { timeout: 15_000 }).toBeGreaterThan(0);
    await page.screenshot({ path: artifactPath('cameras-zones.png') });
    // Only this camera: its neighbour still draws none.
    expect(await tiles().nth(1).locator('canvas').getAttribute('data-zones')).toBe('0');
    await page.reload();
    await expect.poll(async () => Number(await tile(name).locator('canvas').getAttribute('data-zones')), { timeout: 20_000 }).toBeGreaterThan(0);
    await tile(name).getByRole('button', { name: `Overlay on ${name}` }).click();
    expect(await page.getByRole('menuitemcheckbox', { name: 'Zones' }).getAttribute('aria-checked')).toBe('true');
    await page.getByRole('menuitemcheckbox', { name: 'Zones' }).click();
    await page.keyboard.press('Escape');
    await expect.poll(async () => tile(name).locator('canvas').getAttribute('data-zones'), { timeout: 10_000 }).toBe('0');
  });

  it('removes a camera after confirmation', async () => {
    await page.getByRole('button', { name: 'Manage cameras' }).click();
    await page.getByRole('button', { name: 'Remove Added by hand' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Remove camera' }).click();
    await expect.poll(() => tile('Added by hand').count()).toBe(0);
    await expect.poll(() => tiles().count()).toBe(15);
  });
});
