import type { MenuItemConstructorOptions } from 'electron';
import { describe, expect, it, vi } from 'vitest';
import { externalUrlAllowed } from './policy';
import { HELP_LINKS, menuTemplate, type MenuOptions } from './menu';

const options = (over: Partial<MenuOptions> = {}): MenuOptions => ({
  appName: 'OmniSight Control Center',
  platform: 'linux',
  release: true,
  autoUpdate: { enabled: false, available: true },
  actions: { openExternal: vi.fn(), openLogs: vi.fn(), openDataFolder: vi.fn(), openCrashReports: vi.fn(), checkForUpdates: vi.fn(), setAutoUpdate: vi.fn() },
  ...over,
});
const flat = (items: MenuItemConstructorOptions[]): MenuItemConstructorOptions[] =>
  items.flatMap((i) => [i, ...(Array.isArray(i.submenu) ? flat(i.submenu) : [])]);
const roles = (items: MenuItemConstructorOptions[]) => flat(items).map((i) => i.role).filter(Boolean);
const top = (items: MenuItemConstructorOptions[], label: string) => items.find((i) => i.label === label || i.role === label.toLowerCase())!;

describe('application menu', () => {
  it('a release build has no reload and no developer tools; a development build has them', () => {
    for (const r of ['reload', 'forceReload', 'toggleDevTools']) expect(roles(menuTemplate(options())), r).not.toContain(r);
    expect(roles(menuTemplate(options({ release: false })))).toEqual(expect.arrayContaining(['reload', 'forceReload', 'toggleDevTools']));
  });

  it('has About, the Edit roles that make copy and paste work, and Quit, on every platform', () => {
    for (const platform of ['linux', 'win32', 'darwin'] as const) {
      const t = menuTemplate(options({ platform }));
      expect(roles(t)).toEqual(expect.arrayContaining(['about', 'quit', 'undo', 'redo', 'cut', 'copy', 'paste', 'selectAll']));
      expect(roles(top(t, 'Edit').submenu as MenuItemConstructorOptions[])).toEqual(['undo', 'redo', 'cut', 'copy', 'paste', 'pasteAndMatchStyle', 'delete', 'selectAll']);
    }
    expect(menuTemplate(options({ platform: 'darwin' }))[0]!.label).toBe('OmniSight Control Center');
  });

  it('Help opens its links in the browser, each one allowed by the link policy', () => {
    const o = options();
    const help = flat(menuTemplate(o)).find((i) => i.role === 'help')!;
    const links = (help.submenu as MenuItemConstructorOptions[]).filter((i) => HELP_LINKS.some((l) => l.label === i.label));
    expect(links).toHaveLength(HELP_LINKS.length);
    for (const item of links) (item.click as () => void)();
    expect(vi.mocked(o.actions.openExternal).mock.calls.map((c) => c[0])).toEqual(HELP_LINKS.map((l) => l.url));
    for (const l of HELP_LINKS) expect(externalUrlAllowed(l.url), l.url).toBe(true);
  });

  it('offers automatic updates as an opt-in checkbox that reflects and changes the setting', () => {
    const o = options();
    const auto = flat(menuTemplate(o)).find((i) => i.label === 'Check for Updates Automatically')!;
    expect(auto).toMatchObject({ type: 'checkbox', checked: false, enabled: true });
    (auto.click as (i: { checked: boolean }) => void)({ checked: true });
    expect(o.actions.setAutoUpdate).toHaveBeenCalledWith(true);
    const off = flat(menuTemplate(options({ autoUpdate: { enabled: false, available: false } }))).find((i) => i.label === 'Check for Updates…')!;
    expect(off.enabled).toBe(false);
  });
});
