// The application menu as data (Electron's MenuItemConstructorOptions shape, built without importing
// Electron's runtime), so what ships in a release build is tested under Node.
import type { MenuItemConstructorOptions } from 'electron';

export interface MenuOptions {
  appName: string;
  platform: NodeJS.Platform;
  /** Release builds (app.isPackaged) have no reload and no developer tools. */
  release: boolean;
  autoUpdate: { enabled: boolean; available: boolean };
  actions: {
    openExternal(url: string): void;
    openLogs(): void;
    openCrashReports(): void;
    openDataFolder(): void;
    checkForUpdates(): void;
    setAutoUpdate(on: boolean): void;
  };
}

export const HELP_LINKS = [
  { label: 'Axis VAPIX Documentation', url: 'https://www.axis.com/vapix-library/' },
  { label: 'Claude and MCP Documentation', url: 'https://docs.anthropic.com/en/docs/claude-code/mcp' },
] as const;

export function menuTemplate(o: MenuOptions): MenuItemConstructorOptions[] {
  const mac = o.platform === 'darwin';
  const updates: MenuItemConstructorOptions[] = [
    { label: 'Check for Updates…', enabled: o.autoUpdate.available, click: () => o.actions.checkForUpdates() },
    {
      label: 'Check for Updates Automatically',
      type: 'checkbox',
      checked: o.autoUpdate.enabled,
      enabled: o.autoUpdate.available,
      click: (item) => o.actions.setAutoUpdate(item.checked),
    },
  ];
  const appMenu: MenuItemConstructorOptions = {
    label: o.appName,
    submenu: [
      { role: 'about', label: `About ${o.appName}` },
      { type: 'separator' },
      ...updates,
      { type: 'separator' },
      { role: 'services' },
      { type: 'separator' },
      { role: 'hide' },
      { role: 'hideOthers' },
      { role: 'unhide' },
      { type: 'separator' },
      { role: 'quit' },
    ],
  };
  const file: MenuItemConstructorOptions = {
    label: 'File',
    submenu: [{ label: 'Open Data Folder', click: () => o.actions.openDataFolder() }, { type: 'separator' }, mac ? { role: 'close' } : { role: 'quit' }],
  };
  const edit: MenuItemConstructorOptions = {
    label: 'Edit',
    submenu: [
      { role: 'undo' },
      { role: 'redo' },
      { type: 'separator' },
      { role: 'cut' },
      { role: 'copy' },
      { role: 'paste' },
      { role: 'pasteAndMatchStyle' },
      { role: 'delete' },
      { type: 'separator' },
      { role: 'selectAll' },
    ],
  };
  const view: MenuItemConstructorOptions = {
    label: 'View',
    submenu: [
      ...(o.release ? [] : ([{ role: 'reload' }, { role: 'forceReload' }, { role: 'toggleDevTools' }, { type: 'separator' }] as MenuItemConstructorOptions[])),
      { role: 'resetZoom' },
      { role: 'zoomIn' },
      { role: 'zoomOut' },
      { type: 'separator' },
      { role: 'togglefullscreen' },
    ],
  };
  const windowMenu: MenuItemConstructorOptions = { role: 'windowMenu' };
  const help: MenuItemConstructorOptions = {
    role: 'help',
    submenu: [
      ...HELP_LINKS.map((l): MenuItemConstructorOptions => ({ label: l.label, click: () => o.actions.openExternal(l.url) })),
      { type: 'separator' },
      { label: 'Show Logs', click: () => o.actions.openLogs() },
      { label: 'Show Crash Reports', click: () => o.actions.openCrashReports() },
      ...(mac ? [] : ([{ type: 'separator' }, ...updates, { type: 'separator' }, { role: 'about', label: `About ${o.appName}` }] as MenuItemConstructorOptions[])),
    ],
  };
  return mac ? [appMenu, file, edit, view, windowMenu, help] : [file, edit, view, windowMenu, help];
}
