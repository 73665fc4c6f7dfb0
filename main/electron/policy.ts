// The security decisions of app mode as plain functions (no 'electron' import), so they are tested
// under Node; security.ts only hooks them to Electron's events. Checklist items 5, 13, 14 and 17.

export const APP_ORIGIN = 'app://omnisight';

/** electron-builder.yml's appId: Windows groups the taskbar and shows notifications under it (AUMID). */
export const APP_ID = 'com.omnisight.controlcenter';

/** A page of the app itself: app://omnisight/… and nothing that merely starts the same way. */
export function isAppUrl(url: string): boolean {
  try {
    const u = new URL(url);
    return u.protocol === 'app:' && u.host === 'omnisight';
  } catch {
    return false;
  }
}

/** Links the app may open in the user's browser; everything else is refused. */
const externalAllowList = [/^https:\/\/(www\.)?axis\.com\//, /^https:\/\/docs\.anthropic\.com\//, /^https:\/\/github\.com\/[\w.-]+\/[\w.-]+/];

export function externalUrlAllowed(url: string): boolean {
  try {
    if (new URL(url).protocol !== 'https:') return false;
  } catch {
    return false;
  }
  return externalAllowList.some((re) => re.test(url));
}

/**
 * will-navigate, will-redirect and will-frame-navigate: a frame of the app may only go to another
 * page of the app. The app has no iframes and no remote pages, so every other target is refused,
 * including a redirect that a fetch-free page could only get from a compromised protocol handler.
 */
export function navigationAllowed(url: string): boolean {
  return isAppUrl(url);
}

/**
 * Permission requests (setPermissionRequestHandler) and checks (setPermissionCheckHandler).
 * Notifications, and writing to the clipboard from a user gesture (the Copy buttons: Chromium asks
 * for 'clipboard-sanitized-write'), are granted to the app's own main frame. Reading the clipboard,
 * camera, microphone, geolocation, MIDI, HID, serial, USB and everything else are refused.
 */
const grantedPermissions = new Set(['notifications', 'clipboard-sanitized-write']);

export function permissionAllowed(permission: string, requestingUrl: string, isMainFrame = true): boolean {
  return grantedPermissions.has(permission) && isMainFrame && isAppUrl(requestingUrl);
}

/** setDevicePermissionHandler: the app talks to cameras over the network, never to local HID/serial/USB devices. */
export function devicePermissionAllowed(_device: { deviceType: string; origin: string }): boolean {
  return false;
}
