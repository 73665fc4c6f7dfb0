// security.ts hooks policy.ts to Electron's events; Electron is replaced by recorders here so the
// hooks themselves (which events, which handler) are tested under Node.
import { EventEmitter } from 'node:events';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../kernel/logger';

const appEvents = new EventEmitter();
const openExternal = vi.fn();
vi.mock('electron', () => ({ app: { on: (e: string, l: (...a: unknown[]) => void) => appEvents.on(e, l) }, shell: { openExternal: (u: string) => openExternal(u) } }));

const { hardenSession, hardenWebContents } = await import('./security');

class FakeContents extends EventEmitter {
  openHandler?: (d: { url: string }) => { action: string };
  setWindowOpenHandler(h: (d: { url: string }) => { action: string }) {
    this.openHandler = h;
  }
}
const navEvent = (url: string) => ({ url, preventDefault: vi.fn() });

describe('web contents hardening', () => {
  let wc: FakeContents;
  beforeEach(() => {
    appEvents.removeAllListeners();
    hardenWebContents(silentLogger());
    wc = new FakeContents();
    appEvents.emit('web-contents-created', {}, wc);
  });

  it('guards will-navigate, will-redirect and will-frame-navigate alike', () => {
    for (const event of ['will-navigate', 'will-redirect', 'will-frame-navigate']) {
      expect(wc.listenerCount(event), event).toBe(1);
      const away = navEvent('https://attacker.example/');
      wc.emit(event, away);
      expect(away.preventDefault, event).toHaveBeenCalled();
      const inside = navEvent('app://omnisight/index.html');
      wc.emit(event, inside);
      expect(inside.preventDefault, event).not.toHaveBeenCalled();
    }
  });

  it('refuses <webview> and opens only allow-listed links outside, never a new window', () => {
    const attach = { preventDefault: vi.fn() };
    wc.emit('will-attach-webview', attach);
    expect(attach.preventDefault).toHaveBeenCalled();
    expect(wc.openHandler!({ url: 'https://docs.anthropic.com/en/docs/claude-code/mcp' })).toEqual({ action: 'deny' });
    expect(wc.openHandler!({ url: 'http://127.0.0.1:9/' })).toEqual({ action: 'deny' });
    expect(openExternal.mock.calls).toEqual([['https://docs.anthropic.com/en/docs/claude-code/mcp']]);
  });
});

describe('session hardening', () => {
  it('grants the Copy buttons and notifications to the app, refuses the rest, and sets a device handler that refuses every device', () => {
    const handlers: Record<string, (...a: never[]) => unknown> = {};
    const session = {
      setPermissionRequestHandler: (h: never) => (handlers.request = h),
      setPermissionCheckHandler: (h: never) => (handlers.check = h),
      setDevicePermissionHandler: (h: never) => (handlers.device = h),
    };
    hardenSession(session as never, silentLogger());
    const app = { getURL: () => 'app://omnisight/index.html' };
    const ask = (permission: string, url = 'app://omnisight/index.html', isMainFrame = true) => {
      let granted: boolean | undefined;
      (handlers.request as unknown as (...a: unknown[]) => void)(app, permission, (g: boolean) => (granted = g), { requestingUrl: url, isMainFrame });
      return granted;
    };
    expect(ask('clipboard-sanitized-write')).toBe(true);
    expect(ask('notifications')).toBe(true);
    expect(ask('clipboard-read')).toBe(false);
    expect(ask('media')).toBe(false);
    expect(ask('clipboard-sanitized-write', 'https://attacker.example/')).toBe(false);
    const check = handlers.check as unknown as (...a: unknown[]) => boolean;
    expect(check(app, 'clipboard-sanitized-write', 'app://omnisight', { requestingUrl: 'app://omnisight/index.html', isMainFrame: true })).toBe(true);
    expect(check(app, 'hid', 'app://omnisight', { isMainFrame: true })).toBe(false);
    const device = handlers.device as unknown as (d: unknown) => boolean;
    expect(device({ deviceType: 'usb', origin: 'app://omnisight', device: {} })).toBe(false);
  });
});
