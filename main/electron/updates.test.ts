import { describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../kernel/logger';
import { createUpdateController, type UpdaterPort } from './updates';

function rig(o: { installed?: boolean; offer?: string | null; fail?: string } = {}) {
  const feeds: string[] = [];
  let downloaded: ((v: string) => void) | undefined;
  let checks = 0;
  const port: UpdaterPort = {
    setFeed: (url) => feeds.push(url),
    check: async () => {
      checks++;
      if (o.fail) throw new Error(o.fail);
      return o.offer ? { version: o.offer } : null;
    },
    onDownloaded: (l) => (downloaded = l),
  };
  const timers: { fn: () => void; ms: number }[] = [];
  const cleared: unknown[] = [];
  const notify = vi.fn();
  const c = createUpdateController({
    port,
    log: silentLogger(),
    notify,
    installed: o.installed ?? true,
    now: () => 1000,
    setInterval: (fn, ms) => (timers.push({ fn, ms }), timers.length),
    clearInterval: (h) => cleared.push(h),
  });
  return { c, feeds, timers, cleared, notify, checks: () => checks, download: (v: string) => downloaded!(v) };
}
const settle = () => new Promise((r) => setTimeout(r, 0));

describe('auto-update', () => {
  it('never contacts a feed until the user opts in', async () => {
    const r = rig({ offer: '9.9.9' });
    r.c.apply({ autoUpdate: false, updateFeedUrl: 'https://updates.example/omnisight/' });
    await settle();
    expect(r.checks()).toBe(0);
    expect(r.feeds).toEqual([]);
    expect(r.timers).toEqual([]);
    expect(r.c.status()).toEqual({ state: 'off', reason: 'Automatic updates are off.' });
  });

  it('once on, uses the feed from the settings, checks now and every six hours', async () => {
    const r = rig({ offer: null });
    r.c.apply({ autoUpdate: true, updateFeedUrl: 'https://updates.example/omnisight/' });
    await settle();
    expect(r.feeds).toEqual(['https://updates.example/omnisight/']);
    expect(r.checks()).toBe(1);
    expect(r.timers.map((t) => t.ms)).toEqual([6 * 3600 * 1000]);
    expect(r.c.status()).toEqual({ state: 'idle', lastCheckedAt: 1000 });
    r.timers[0]!.fn();
    await settle();
    expect(r.checks()).toBe(2);
  });

  it('follows a changed feed and stops when switched off', async () => {
    const r = rig({ offer: null });
    r.c.apply({ autoUpdate: true, updateFeedUrl: 'https://a.example/' });
    await settle();
    r.c.apply({ autoUpdate: true, updateFeedUrl: 'https://b.example/' });
    await settle();
    expect(r.feeds).toEqual(['https://a.example/', 'https://b.example/']);
    r.c.apply({ autoUpdate: false, updateFeedUrl: 'https://b.example/' });
    expect(r.cleared).toEqual([1, 2]);
    expect(r.c.status().state).toBe('off');
  });

  it('tells the user when an update is downloaded and installs it on quit', async () => {
    const r = rig({ offer: '0.2.0' });
    r.c.apply({ autoUpdate: true, updateFeedUrl: 'https://updates.example/' });
    await settle();
    expect(r.c.status()).toEqual({ state: 'downloading', version: '0.2.0' });
    r.download('0.2.0');
    expect(r.c.status()).toEqual({ state: 'ready', version: '0.2.0' });
    expect(r.notify).toHaveBeenCalledWith('Update ready', expect.stringContaining('0.2.0'));
  });

  it('says why it cannot check: no feed, a development run, a failing feed', async () => {
    expect(await rig().c.checkNow()).toEqual({ state: 'off', reason: 'No update feed is set (setting updateFeedUrl).' });
    const dev = rig({ installed: false });
    dev.c.apply({ autoUpdate: true, updateFeedUrl: 'https://u.example/' });
    expect(await dev.c.checkNow()).toMatchObject({ state: 'off', reason: expect.stringMatching(/development run/) });
    expect(dev.checks()).toBe(0);
    const bad = rig({ fail: 'HTTP 404' });
    bad.c.apply({ autoUpdate: false, updateFeedUrl: 'https://u.example/' });
    expect(await bad.c.checkNow()).toEqual({ state: 'error', message: 'Checking https://u.example/ for updates failed: HTTP 404' });
  });
});
