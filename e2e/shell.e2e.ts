import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import WebSocket from 'ws';
import { artifactPath, launchBrowser } from './lib/browser';
import { serve, type Served } from './lib/serve';

let server: Served;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  server = await serve({ args: ['--no-demo'] });
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1280, height: 800 }, colorScheme: 'dark' });
});
afterAll(async () => {
  await browser?.close();
  expect(await server?.stop()).toBe(0); // clean shutdown on SIGTERM
});

describe('the shell in browser mode', () => {
  it('loads, connects, and keeps the token out of the address bar', async () => {
    await page.goto(server.url);
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'Connected' }).count()).toBe(1);
    expect(page.url()).not.toContain('token=');
    await expect.poll(() => page.getByText(server.dataDir).count()).toBeGreaterThan(0);
  });

  it('changes a setting, reloads, and finds it kept', async () => {
    await page.getByRole('navigation', { name: 'Views' }).getByRole('button', { name: 'Settings', exact: true }).click();
    await page.getByLabel('Theme').selectOption('light');
    await expect.poll(() => page.getByText('Theme saved').count()).toBe(1);
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('light');
    await page.reload();
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'Connected' }).count()).toBe(1);
    await expect.poll(() => page.getByLabel('Theme').inputValue()).toBe('light');
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('light');
    await page.screenshot({ path: artifactPath('settings-light.png') });
  });

  it('shows an invalid value as an error where the user typed it', async () => {
    const count = page.getByLabel('Simulated cameras');
    await count.fill('500');
    await count.blur();
    await expect.poll(() => page.getByRole('alert').textContent()).toBe('Simulated cameras: at most 64.');
    expect(await count.getAttribute('aria-invalid')).toBe('true');
  });

  it('keeps the Timeline history for the hours set, refusing a value out of range next to the field', async () => {
    const hours = page.getByLabel('Keep history for');
    expect(await hours.inputValue()).toBe('24');
    await hours.fill('5000');
    await hours.blur();
    const err = page.getByRole('alert').filter({ hasText: /^Timeline history:/ });
    await expect.poll(() => err.textContent()).toBe('Timeline history: at most 2160 hours.');
    expect(await hours.getAttribute('aria-invalid')).toBe('true');
    await hours.fill('72');
    await hours.blur();
    await expect.poll(() => page.getByText('Timeline history saved').count()).toBe(1);
    expect(await err.count()).toBe(0);
    await page.reload();
    await expect.poll(() => page.getByLabel('Keep history for').inputValue(), { timeout: 15_000 }).toBe('72');
  });

  it('does not save an external broker without an address, and says what is wrong with a bad one', async () => {
    await page.getByRole('combobox', { name: /^Broker/ }).selectOption('external');
    // Choosing it saves nothing yet: the address comes first.
    expect(await page.getByRole('status').filter({ hasText: 'saved' }).count()).toBe(0);
    await page.getByRole('button', { name: 'Use this broker' }).click();
    const urlError = page.getByRole('alert').filter({ hasText: /^Broker URL:/ });
    await expect.poll(() => urlError.textContent()).toMatch(/^Broker URL: an external broker needs its address/);
    await page.getByRole('textbox', { name: /^Broker URL/ }).fill('not a url');
    await page.getByRole('button', { name: 'Use this broker' }).click();
    await expect.poll(() => urlError.textContent()).toMatch(/^Broker URL: Use a broker URL such as mqtt:/);
    // Leaving the view and coming back: still the embedded broker, nothing was saved.
    await page.getByRole('navigation', { name: 'Views' }).getByRole('button', { name: 'Security', exact: true }).click();
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Security');
    await page.getByRole('navigation', { name: 'Views' }).getByRole('button', { name: 'Settings', exact: true }).click();
    await expect.poll(() => page.getByRole('combobox', { name: /^Broker/ }).inputValue()).toBe('embedded');
  });

  it('lists a refused connection in the Security view and lets the user resolve it', async () => {
    await new Promise<void>((resolve) => {
      const ws = new WebSocket(`${server.origin.replace('http', 'ws')}/ws`, ['omnisight.v1', 'token.wrong']);
      ws.on('error', () => resolve());
      ws.on('unexpected-response', () => resolve());
    });
    await page.getByRole('navigation', { name: 'Views' }).getByRole('button', { name: 'Security', exact: true }).click();
    const row = page.getByRole('row').filter({ hasText: 'wrong token' });
    await expect.poll(() => row.count()).toBe(1);
    await row.getByRole('button', { name: /Mark event \d+ resolved/ }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Mark resolved' }).click();
    await expect.poll(() => page.getByRole('row').filter({ hasText: 'wrong token' }).count()).toBe(0);
    await page.screenshot({ path: artifactPath('security.png') });
  });

  it('shows a flood of refused connections as one row with a count, resolved at once', async () => {
    const refuse = (): Promise<void> =>
      new Promise<void>((resolve) => {
        const ws = new WebSocket(`${server.origin.replace('http', 'ws')}/ws`, ['omnisight.v1', 'token.wrong']);
        ws.on('error', () => resolve());
        ws.on('unexpected-response', () => resolve());
      });
    for (let i = 0; i < 12; i++) await refuse();
    await page.getByRole('navigation', { name: 'Views' }).getByRole('button', { name: 'Security', exact: true }).click();
    const table = page.getByRole('table', { name: 'Audit events' });
    // Twelve connections from twelve ports of one address: one row, not twelve.
    await expect.poll(() => table.getByRole('row').filter({ hasText: 'transport.refused' }).count(), { timeout: 10_000 }).toBe(1);
    const bulk = table.getByRole('button', { name: /^Resolve all \d+ open transport\.refused events$/ });
    await expect.poll(() => bulk.getAttribute('aria-label'), { timeout: 10_000 }).toMatch(/Resolve all 12 open/);
    await bulk.click();
    await page.getByRole('dialog').getByRole('button', { name: 'Resolve them' }).click();
    await expect.poll(() => table.getByRole('row').filter({ hasText: 'transport.refused' }).count(), { timeout: 10_000 }).toBe(0);
  });

  it('switches views with the keyboard, using the shortcut each view announces', async () => {
    const nav = page.getByRole('navigation', { name: 'Views' });
    for (const name of ['Security', 'Settings']) {
      const shortcut = await nav.getByRole('button', { name, exact: true }).getAttribute('aria-keyshortcuts');
      expect(shortcut).toMatch(/^Alt\+\d$/);
      await page.keyboard.press(shortcut!);
      await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe(name);
    }
  });

  it('says so when the server goes away, and reconnects by itself when it is back', async () => {
    // A supervisor restart: same port, data folder and (fixed) token.
    const token = 'e2e-fixed-token-0123456789abcdefghij';
    await server.stop();
    server = await serve({ dataDir: server.dataDir, args: ['--no-demo', '--port', new URL(server.origin).port], env: { OMNISIGHT_TOKEN: token } });
    await page.evaluate((t) => sessionStorage.setItem('omnisight.token', t), token);
    await page.reload();
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'Connected' }).count()).toBe(1);
    await server.stop();
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'Reconnecting' }).count(), { timeout: 10_000 }).toBe(1);
    server = await serve({ dataDir: server.dataDir, args: ['--no-demo', '--port', new URL(server.origin).port], env: { OMNISIGHT_TOKEN: token } });
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'Connected' }).count(), { timeout: 15_000 }).toBe(1);
    await page.getByRole('navigation', { name: 'Views' }).getByRole('button', { name: 'Settings', exact: true }).click();
    await expect.poll(() => page.getByLabel('Theme').inputValue()).toBe('light');
  });

  it('restarted with a new token: says so, and a pasted new address reconnects without a reload', async () => {
    const port = new URL(server.origin).port;
    await server.stop();
    server = await serve({ dataDir: server.dataDir, args: ['--no-demo', '--port', port] });
    const banner = page.getByRole('region', { name: 'Connection problem' });
    await expect.poll(() => banner.textContent(), { timeout: 20_000 }).toMatch(/does not take this page’s token/);
    const marker = await page.evaluate(() => ((window as unknown as { __mark?: number }).__mark = Math.random()));
    await banner.getByRole('textbox', { name: 'OmniSight address' }).fill(server.url);
    await banner.getByRole('button', { name: 'Connect' }).click();
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'Connected' }).count(), { timeout: 15_000 }).toBe(1);
    // The same page (no reload), now working.
    expect(await page.evaluate(() => (window as unknown as { __mark?: number }).__mark)).toBe(marker);
    expect(await banner.count()).toBe(0);
  });

  it('opened without a token: says what to do instead of retrying forever', async () => {
    const fresh = await browser.newPage({ viewport: { width: 1024, height: 700 } });
    await fresh.goto(server.origin + '/');
    const banner = fresh.getByRole('region', { name: 'Connection problem' });
    await expect.poll(() => banner.textContent(), { timeout: 10_000 }).toMatch(/This address has no token/);
    await banner.getByRole('textbox', { name: 'OmniSight address' }).fill('not an address');
    await banner.getByRole('button', { name: 'Connect' }).click();
    await expect.poll(() => banner.getByRole('alert').textContent()).toMatch(/not an address/);
    await banner.getByRole('textbox', { name: 'OmniSight address' }).fill(server.url);
    await banner.getByRole('button', { name: 'Connect' }).click();
    await expect.poll(() => fresh.getByRole('status').filter({ hasText: 'Connected' }).count(), { timeout: 15_000 }).toBe(1);
    await fresh.close();
  });
});
