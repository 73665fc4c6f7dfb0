// App mode: Electron opens the window and wires IPC to the same dispatcher browser mode uses.
// This folder is the only one that imports 'electron', and it holds no business logic.
import path from 'node:path';
import { app, BrowserWindow, dialog, Menu, Notification, nativeImage, session, Tray, type WebContents } from 'electron';
import type { App } from '../app';
import { createLogger } from '../kernel/logger';
import { PRODUCT_NAME } from '../kernel/paths';
import { createElectronClipboard } from './clipboard';
import { createQuitGuard, startCore } from './lifecycle';
import { prepareNativeSources } from './native-sources';
import { electronSqliteBinding } from './sqlite-binding';
import { utilityHelper } from './helper';
import { wireFramePorts } from './frames';
import { wireIpc } from './ipc';
import { registerAppScheme, serveRenderer } from './protocol';
import { createSafeStorageSecretStore } from './secret-store';
import { APP_ORIGIN, hardenSession, hardenWebContents } from './security';

/** electron-builder.yml's appId: Windows groups the taskbar and shows notifications under it (AUMID). */
export const APP_ID = 'com.omnisight.controlcenter';

app.setName(PRODUCT_NAME);
if (process.platform === 'win32') app.setAppUserModelId(APP_ID);
app.enableSandbox();
registerAppScheme();

// `OmniSight mcp --token …`: Claude Code / Claude Desktop start the packaged app as their MCP stdio
// server. No window, no single-instance lock (the app itself is usually running): the CLI's mcp
// command talks to the running app's agent bridge and exits when its client closes stdin.
const cliArgs = process.argv.slice(app.isPackaged ? 1 : 2).filter((a) => !a.startsWith('--inspect'));
if (cliArgs[0] === 'mcp') {
  app.dock?.hide();
  void import('../agents').then(({ runCli }) =>
    runCli(cliArgs).then((code) => {
      if (code >= 0) app.exit(code);
    }),
  );
} else if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  let window: BrowserWindow | null = null;
  let tray: Tray | null = null;
  let core: App | null = null;
  let unwireFrames: (() => void) | null = null;
  const logDir = path.join(app.getPath('userData'), 'logs');
  const { log, close: closeLog } = createLogger({ dir: logDir });
  hardenWebContents(log);

  const createWindow = (): void => {
    window = new BrowserWindow({
      width: 1440,
      height: 900,
      minWidth: 960,
      minHeight: 600,
      show: false,
      backgroundColor: '#0f1115',
      title: PRODUCT_NAME,
      webPreferences: {
        preload: path.join(__dirname, '../preload/index.js'),
        contextIsolation: true,
        sandbox: true,
        nodeIntegration: false,
        nodeIntegrationInWorker: false,
        webSecurity: true,
        allowRunningInsecureContent: false,
        experimentalFeatures: false,
        webviewTag: false,
        spellcheck: false,
      },
    });
    window.once('ready-to-show', () => window?.show());
    window.on('closed', () => (window = null));
    void window.loadURL(`${APP_ORIGIN}/index.html`);
  };

  app.on('second-instance', () => {
    if (window) {
      if (window.isMinimized()) window.restore();
      window.focus();
    }
  });

  void app.whenReady().then(async () => {
    hardenSession(session.defaultSession, log);
    serveRenderer(path.join(__dirname, '../renderer'));
    // The composition root is imported here, not at the top: a module that fails to load (a native
    // binary for another ABI) becomes the same visible start-up error as a database that cannot open.
    core =
      (await startCore({
        log,
        logDir,
        showError: (title, body) => dialog.showErrorBox(title, body),
        releaseSingleInstanceLock: () => app.releaseSingleInstanceLock(),
        quit: () => app.quit(),
        createCore: async () => {
          // An install carries the camera app's sources read-only in resources/native; builds run on a copy.
          if (app.isPackaged && !process.env.OMNISIGHT_NATIVE_DIR) {
            const dir = prepareNativeSources(path.join(process.resourcesPath, 'native'), app.getPath('userData'), app.getVersion());
            if (dir) process.env.OMNISIGHT_NATIVE_DIR = dir;
          }
          // better-sqlite3 for Electron's ABI, kept apart from node_modules' Node build (README).
          process.env.OMNISIGHT_SQLITE_BINDING ??= electronSqliteBinding({
            packaged: app.isPackaged,
            resourcesPath: process.resourcesPath,
            appPath: app.getAppPath(),
            platform: process.platform,
            arch: process.arch,
            electronVersion: process.versions.electron,
            abi: process.versions.modules,
          });
          const { createApp } = await import('../app');
          return createApp({
            mode: 'electron',
            dataDir: app.getPath('userData'),
            log,
            secretStore: createSafeStorageSecretStore,
            notifier: {
              notify: (n) => {
                if (Notification.isSupported()) new Notification({ title: n.title, body: n.body, urgency: n.severity === 'critical' ? 'critical' : 'normal' }).show();
              },
            },
            launchHelper: utilityHelper,
            helperEntry: path.join(__dirname, 'helper.js'),
            clipboard: createElectronClipboard(),
          });
        },
      })) ?? null;
    if (!core) return;
    const appWindows = (): WebContents[] => BrowserWindow.getAllWindows().map((w) => w.webContents);
    wireIpc({ dispatcher: core.dispatcher, bus: core.bus, audit: core.audit, windows: appWindows });
    unwireFrames = wireFramePorts({ fleet: core.fleet.fleet, audit: core.audit, windows: appWindows });

    // macOS: a black "Template" image (and its @2x) that the menu bar recolours; elsewhere a coloured one.
    tray = new Tray(nativeImage.createFromPath(path.join(__dirname, '../../resources', process.platform === 'darwin' ? 'trayTemplate.png' : 'tray.png')));
    const refreshTray = async (): Promise<void> => {
      const counts = await core!.dispatcher.dispatch('audit.counts', {}, { transport: 'internal', peer: 'tray' });
      const open = counts.ok ? (counts.value as { open: number }).open : 0;
      const status = open ? `${open} security event${open === 1 ? '' : 's'} to review` : 'running';
      tray?.setToolTip(`${PRODUCT_NAME} — ${status}`);
      tray?.setContextMenu(
        Menu.buildFromTemplate([
          { label: status, enabled: false },
          { label: 'Show window', click: () => (window ? window.show() : createWindow()) },
          { type: 'separator' },
          { label: 'Quit', click: () => app.quit() },
        ]),
      );
    };
    core.bus.subscribe('audit.recorded', () => void refreshTray());
    core.bus.subscribe('audit.resolved', () => void refreshTray());
    void refreshTray();
    createWindow();
    app.on('activate', () => {
      if (BrowserWindow.getAllWindows().length === 0) createWindow();
    });
  });

  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });
  // Quit waits for the core: the database checkpoints its WAL and bridge.json is removed before
  // the process ends (a `void core.close()` here let the process exit half-way through).
  app.on(
    'will-quit',
    createQuitGuard({
      log,
      quit: () => app.quit(),
      shutdown: async () => {
        unwireFrames?.();
        tray?.destroy();
        try {
          await core?.close();
        } finally {
          closeLog();
        }
      },
    }),
  );
}
