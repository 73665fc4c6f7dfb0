// The Swarm and Performance views in browser mode with the demo fleet. The liar is a SEPARATE
// simulated camera this test starts and adds through the contract (fleet.add), so its fault
// switches (lie, equivocate) are in the test's hands; the app knows it only over the wire.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startSimulatedFleet, type SimFleet } from '../main/camsim';
import { artifactPath, launchBrowser } from './lib/browser';
import { callApp } from './lib/call';
import { serve, type Served } from './lib/serve';

let sim: SimFleet;
let server: Served;
let browser: Browser;
let page: Page;

/** One contract call to the app under test (e2e/lib/call.ts). */
const call = <T,>(method: string, input: unknown): Promise<T> => callApp<T>(server, method, input);

beforeAll(async () => {
  [sim, server, browser] = await Promise.all([
    startSimulatedFleet({ cameras: 1, seed: 4242, apps: 'agent' }),
    serve({ env: { OMNISIGHT_DEMO_CAMERAS: '6' } }),
    launchBrowser(),
  ]);
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 }, colorScheme: 'dark' });
});
afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await sim?.stop();
});

describe('swarm in browser mode', () => {
  it('draws the demo fleet as coverage groups and seeds the zones from the demo scene', async () => {
    await page.goto(server.url);
    await page.getByRole('navigation', { name: 'Views' }).getByRole('button', { name: 'Swarm', exact: true }).click();
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Swarm');
    const canvas = page.getByRole('img', { name: /Swarm topology/ });
    // 6 cameras: above the one-group limit of 5, so one coverage group per zone.
    await expect.poll(() => canvas.getAttribute('aria-label'), { timeout: 30_000 }).toMatch(/Coverage and link health: 6 cameras, \d+ coverage groups/);
    // The header says what the picture is, not a message path it does not have.
    await expect.poll(() => page.locator('.view.swarm .view-header p').textContent()).toMatch(/6 cameras in \d+ coverage groups.*coverage and link health; every report goes straight to the coordinator/);
    expect(await page.locator('.view.swarm .view-header p').textContent()).not.toMatch(/backbone|cluster/i);
    expect(await canvas.getAttribute('data-mode')).toBe('clustered');
    await expect.poll(() => page.getByRole('table', { name: 'Zones' }).getByRole('row').count(), { timeout: 15_000 }).toBeGreaterThan(1);
    await expect.poll(() => page.getByText('from the demo scene').count(), { timeout: 15_000 }).toBe(1);
    const status = await call<{ accepted: number }>('swarm.status', {});
    await expect.poll(async () => (await call<{ accepted: number }>('swarm.status', {})).accepted, { timeout: 20_000 }).toBeGreaterThan(status.accepted);
    await page.waitForTimeout(1500); // let the layout settle for the picture
    await page.screenshot({ path: artifactPath('swarm.png') });
  });

  it('quarantines a lying, equivocating camera, marks it on the graph and lists it in the audit log', async () => {
    const cam = sim.cameras[0]!;
    // Added as a person would: the certificate is shown, then pinned; the key is read over it.
    const cert = await call<{ fingerprint: string }>('fleet.certificate', { address: new URL(cam.url).host, httpsPort: cam.httpsPort });
    const added = await call<{ id: string; serial: string; publicKey: string | null }>('fleet.add', { address: new URL(cam.url).host, username: cam.username, password: cam.password, name: 'Liar', httpsPort: cam.httpsPort, fingerprint: cert.fingerprint });
    expect(added.serial).toBe(cam.serial);
    expect(added.publicKey).toBeTruthy(); // read from identity.cgi over the pinned channel: its signed reports verify
    const canvas = page.getByRole('img', { name: /Swarm topology/ });
    await expect.poll(() => canvas.getAttribute('aria-label'), { timeout: 30_000 }).toMatch(/7 cameras/);

    sim.faults(cam.id).lie(true);
    sim.faults(cam.id).equivocate(true);
    await expect.poll(() => canvas.getAttribute('data-quarantined'), { timeout: 30_000 }).toContain(cam.serial);
    const item = page.getByRole('list', { name: 'Quarantined cameras' }).getByRole('listitem').filter({ hasText: cam.serial });
    await expect.poll(() => item.count()).toBe(1);
    await item.getByText('Equivocation proof').click();
    await expect.poll(() => item.locator('pre').count()).toBe(2);
    await page.waitForTimeout(800);
    await page.screenshot({ path: artifactPath('swarm-quarantine.png') });

    await page.getByRole('navigation', { name: 'Views' }).getByRole('button', { name: 'Security', exact: true }).click();
    const row = page.getByRole('row').filter({ hasText: 'swarm.quarantined' }).filter({ hasText: cam.serial });
    await expect.poll(() => row.count(), { timeout: 10_000 }).toBe(1);

    // The fleet shows it as well: its status carries the quarantine, its Cameras tile a badge that leads to the Swarm view.
    type Listed = { statuses: { cameraId: string; quarantined?: { since: number; reason: string } }[] };
    const quarantineOf = async () => (await call<Listed>('fleet.list', {})).statuses.find((s) => s.cameraId === added.id)?.quarantined;
    expect((await quarantineOf())?.reason).toBeTruthy();
    await page.getByRole('navigation', { name: 'Views' }).getByRole('button', { name: 'Cameras', exact: true }).click();
    await page.getByRole('button', { name: '9 cameras per page' }).click();
    const badge = page.locator(`article[data-camera="${added.id}"]`).getByRole('button', { name: /^Quarantined since/ });
    await expect.poll(() => badge.count(), { timeout: 10_000 }).toBe(1);
    await badge.click();
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Swarm');

    // Release with confirmation; the fault is still on, so it stops first.
    sim.faults(cam.id).equivocate(false);
    sim.faults(cam.id).lie(false);
    await page.getByRole('navigation', { name: 'Views' }).getByRole('button', { name: 'Swarm', exact: true }).click();
    // Cameras go by their names here (issue 17): the serial is still shown beside the name.
    await page.getByRole('button', { name: 'Release camera Liar', exact: true }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Release camera' }).click();
    await expect.poll(() => page.getByRole('list', { name: 'Quarantined cameras' }).count(), { timeout: 10_000 }).toBe(0);
    await expect.poll(quarantineOf, { timeout: 10_000 }).toBeUndefined();
    await page.getByRole('navigation', { name: 'Views' }).getByRole('button', { name: 'Security', exact: true }).click();
    await expect.poll(() => page.getByRole('row').filter({ hasText: 'swarm.released' }).count(), { timeout: 10_000 }).toBe(1);
  });

  it('shows health, budgets and the charts in the Performance view, and serves /metrics with the token only', async () => {
    await page.getByRole('navigation', { name: 'Views' }).getByRole('button', { name: 'Performance', exact: true }).click();
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Performance');
    // The score itself depends on this machine's load (fusion and inference SLOs); it must be there.
    await expect.poll(() => page.getByRole('meter', { name: 'Health score' }).textContent(), { timeout: 15_000 }).toMatch(/^\d+health score/);
    await expect.poll(() => page.getByRole('table', { name: 'Error budgets' }).getByRole('row').count(), { timeout: 15_000 }).toBe(5);
    await expect.poll(() => page.locator('figure[aria-label="Inference per camera"] .recharts-line').count(), { timeout: 20_000 }).toBeGreaterThan(0);
    await page.screenshot({ path: artifactPath('performance.png'), fullPage: true });

    expect((await fetch(`${server.origin}/metrics`)).status).toBe(401);
    const res = await fetch(`${server.origin}/metrics`, { headers: { Authorization: `Bearer ${server.token}` } });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toMatch(/omnisight_\w*inference\w*_seconds/);
  });
});
