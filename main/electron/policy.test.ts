import { describe, expect, it } from 'vitest';
import { devicePermissionAllowed, externalUrlAllowed, isAppUrl, navigationAllowed, permissionAllowed } from './policy';

describe('app-mode security policy', () => {
  it('knows the app\'s own pages from look-alikes', () => {
    expect(isAppUrl('app://omnisight/index.html')).toBe(true);
    expect(isAppUrl('app://omnisight.evil/index.html')).toBe(false);
    expect(isAppUrl('app://omnisightx/')).toBe(false);
    expect(isAppUrl('https://omnisight/')).toBe(false);
    expect(isAppUrl('not a url')).toBe(false);
  });

  it('lets navigation, redirects and frame navigation go only to app pages', () => {
    expect(navigationAllowed('app://omnisight/index.html#/rooms')).toBe(true);
    for (const url of ['https://example.com/', 'file:///etc/passwd', 'http://127.0.0.1:8080/', 'javascript:alert(1)', 'data:text/html,x', 'app://other/'])
      expect(navigationAllowed(url), url).toBe(false);
  });

  it('grants the Copy buttons (clipboard-sanitized-write) and notifications to the app main frame only', () => {
    expect(permissionAllowed('clipboard-sanitized-write', 'app://omnisight/index.html')).toBe(true);
    expect(permissionAllowed('notifications', 'app://omnisight/index.html')).toBe(true);
    expect(permissionAllowed('clipboard-sanitized-write', 'app://omnisight/index.html', false)).toBe(false);
    expect(permissionAllowed('clipboard-sanitized-write', 'https://example.com/')).toBe(false);
    for (const p of ['clipboard-read', 'media', 'geolocation', 'hid', 'serial', 'usb', 'openExternal', 'unknown'])
      expect(permissionAllowed(p, 'app://omnisight/index.html'), p).toBe(false);
  });

  it('refuses every HID, serial and USB device', () => {
    for (const deviceType of ['hid', 'serial', 'usb']) expect(devicePermissionAllowed({ deviceType, origin: 'app://omnisight' })).toBe(false);
  });

  it('opens only allow-listed https links outside', () => {
    expect(externalUrlAllowed('https://docs.anthropic.com/en/docs/mcp')).toBe(true);
    expect(externalUrlAllowed('https://www.axis.com/developer-community')).toBe(true);
    expect(externalUrlAllowed('http://www.axis.com/')).toBe(false);
    expect(externalUrlAllowed('https://axis.com.evil.example/')).toBe(false);
    expect(externalUrlAllowed('file:///C:/Windows/system32/calc.exe')).toBe(false);
  });
});
