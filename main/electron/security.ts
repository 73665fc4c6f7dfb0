import { app, shell, type Session, type WebContents } from 'electron';
import type { Logger } from '../kernel/logger';

export const APP_ORIGIN = 'app://omnisight';

/** Links the app may open in the user's browser; everything else is refused. */
const externalAllowList = [/^https:\/\/(www\.)?axis\.com\//, /^https:\/\/docs\.anthropic\.com\//, /^https:\/\/github\.com\/[\w.-]+\/[\w.-]+/];

/** Checklist items 5, 13 and 14: permissions, navigation and new windows are denied by default. */
export function hardenSession(session: Session, log: Logger): void {
  session.setPermissionRequestHandler((wc, permission, callback) => {
    const allowed = permission === 'notifications' && wc.getURL().startsWith(APP_ORIGIN);
    if (!allowed) log.warn({ permission, url: wc.getURL() }, 'permission denied');
    callback(allowed);
  });
  session.setPermissionCheckHandler((_wc, permission, origin) => permission === 'notifications' && origin.startsWith(APP_ORIGIN));
}

export function hardenWebContents(log: Logger): void {
  app.on('web-contents-created', (_event, contents: WebContents) => {
    contents.on('will-navigate', (event, url) => {
      if (!url.startsWith(`${APP_ORIGIN}/`)) {
        event.preventDefault();
        log.warn({ url }, 'navigation blocked');
      }
    });
    contents.on('will-attach-webview', (event) => event.preventDefault());
    contents.setWindowOpenHandler(({ url }) => {
      if (externalAllowList.some((re) => re.test(url))) void shell.openExternal(url);
      else log.warn({ url }, 'window.open blocked');
      return { action: 'deny' };
    });
  });
}
