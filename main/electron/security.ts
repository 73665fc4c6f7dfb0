import { app, shell, type Session, type WebContents } from 'electron';
import type { Logger } from '../kernel/logger';
import { devicePermissionAllowed, externalUrlAllowed, navigationAllowed, permissionAllowed } from './policy';

export { APP_ORIGIN } from './policy';

/** Checklist item 5: permissions (and HID/serial/USB devices) are denied unless policy.ts grants them. */
export function hardenSession(session: Session, log: Logger): void {
  session.setPermissionRequestHandler((wc, permission, callback, details) => {
    const url = 'requestingUrl' in details ? details.requestingUrl : wc.getURL();
    const allowed = permissionAllowed(permission, url, details.isMainFrame);
    if (!allowed) log.warn({ permission, url }, 'permission denied');
    callback(allowed);
  });
  session.setPermissionCheckHandler((_wc, permission, origin, details) =>
    permissionAllowed(permission, details.requestingUrl ?? `${origin}/`, details.isMainFrame),
  );
  session.setDevicePermissionHandler((details) => {
    const allowed = devicePermissionAllowed(details);
    if (!allowed) log.warn({ deviceType: details.deviceType, origin: details.origin }, 'device permission denied');
    return allowed;
  });
}

/** Checklist items 13 and 14: navigation, redirects, frame navigation and new windows stay in the app. */
export function hardenWebContents(log: Logger): void {
  app.on('web-contents-created', (_event, contents: WebContents) => {
    const guard = (kind: string) => (event: { url: string; preventDefault(): void }) => {
      if (navigationAllowed(event.url)) return;
      event.preventDefault();
      log.warn({ url: event.url.slice(0, 500) }, `${kind} blocked`);
    };
    contents.on('will-navigate', guard('navigation'));
    contents.on('will-redirect', guard('redirect'));
    contents.on('will-frame-navigate', guard('frame navigation'));
    contents.on('will-attach-webview', (event) => event.preventDefault());
    contents.setWindowOpenHandler(({ url }) => {
      if (externalUrlAllowed(url)) void shell.openExternal(url);
      else log.warn({ url: url.slice(0, 500) }, 'window.open blocked');
      return { action: 'deny' };
    });
  });
}
