// App mode: Electron opens the window and wires IPC to the same dispatcher browser mode uses.
// This folder is the only one that imports 'electron', and it holds no business logic.
import path from 'node:path';
import { app, BrowserWindow, crashReporter, dialog, Menu, Notification, nativeImage, screen, session, shell, Tray, type WebContents } from 'electron';
import type { App } from '../app';
import { createLogger } from '../kernel/logger';
import { PRODUCT_NAME } from '../kernel/paths';
import { createElectronClipboard } from './clipboard';
import { createRestartBudget, goneMessage, rendererGoneAction } from './crash';
import { menuTemplate } from './menu';
import { APP_ID, externalUrlAllowed } from './policy';
import { electronUpdater } from './updater-electron';
import { createUpdateController, type UpdateController } from './updates';
import { loadWindowState, MIN_SIZE, restoreBounds, saveWindowState } from './window-state';
import { createQuitGuard, startCore } from './lifecycle';
import { prepareNativeSources } from './native-sources';
import { electronSqliteBinding } from './sqlite-binding';
import { HELPER_SERVICE_NAME, utilityHelper } from './helper';
import { wireFramePorts } from './frames';
import { wireIpc } from './ipc';
import { registerAppScheme, serveRenderer } from './protocol';
import { createSafeStorageSecretStore } from './secret-store';
import { APP_ORIGIN, hardenSession, hardenWebContents } from './security';

app.setName(PRODUCT_NAME);
if (process.platform === 'win32') app.setAppUserModelId(APP_ID);
app.enableSandbox();
registerAppScheme();
// Crash dumps of every process stay on this machine (app.getPath('crashDumps'), Help → Show Crash
// Reports); nothing is uploaded.
crashReporter.start({ uploadToServer: false, compress: true });

const sqliteBindingPlace = () => ({
  packaged: app.isPackaged,
  resourcesPath: process.resourcesPath,
  appPath: app.getAppPath(),
  platform: process.platform,
  arch: process.arch,
  electronVersion: process.versions.electron,
  abi: process.versions.modules,
});

// `OmniSight mcp --token …`: Claude Code / Claude Desktop start the packaged app as their MCP stdio
// server. No window, no single-instance lock (the app itself is usually running): the CLI's mcp
// command talks to the running app's agent bridge and exits when its client closes stdin.
const cliArgs = process.argv.slice(app.isPackaged ? 1 : 2).filter((a) => !a.startsWith('--inspect'));
if (cliArgs[0] === 'mcp') {
  app.dock?.hide();
  try {
    // Commands that open the database need Electron's better-sqlite3 build here too.
    process.env.OMNISIGHT_SQLITE_BINDING ??= electronSqliteBinding(sqliteBindingPlace());
  } catch {
    // the bridge-only commands (mcp itself) do not open the database
  }
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

  const userData = app.getPath('userData');
  let updates: UpdateController | null = null;
  const rendererRestarts = createRestartBudget();

  const createWindow = (): void => {
    const saved = loadWindowState(userData);
    const bounds = restoreBounds(saved, [screen.getPrimaryDisplay(), ...screen.getAllDisplays()].map((d) => d.workArea));
    const win = new BrowserWindow({
      ...bounds,
      minWidth: MIN_SIZE.width,
      minHeight: MIN_SIZE.height,
      show: false,
      backgroundColor: '#0f1115',
      title: PRODUCT_NAME,
      icon: path.join(__dirname, '../../resources/icon.png'),
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
        // Release builds cannot open developer tools at all (the menu has no entry either).
        devTools: !app.isPackaged,
      },
    });
    window = win;
    if (saved?.maximized) win.maximize();
    if (saved?.fullScreen) win.setFullScreen(true);
    win.once('ready-to-show', () => win.show());
    // Saved when the window closes (normal bounds, so a maximised window restores to its old size).
    win.on('close', () => {
      const b = win.getNormalBounds();
      saveWindowState(userData, { ...b, maximized: win.isMaximized(), fullScreen: win.isFullScreen() });
    });
    win.on('closed', () => {
      if (window === win) window = null;
    });
    // Renderer crash: reload while the budget lasts (3 a minute), then ask.
    win.webContents.on('render-process-gone', (_e, details) => {
      const text = goneMessage('The window', details);
      const action = rendererGoneAction(details.reason, rendererRestarts);
      log.error({ reason: details.reason, exitCode: details.exitCode, action }, 'renderer process gone');
      if (action === 'reload') win.webContents.reload();
      else if (action === 'ask') {
        const choice = dialog.showMessageBoxSync(win, {
          type: 'error',
          message: `${text} It has stopped several times in the last minute.`,
          detail: `Crash reports are kept in ${app.getPath('crashDumps')}.`,
          buttons: ['Reload', 'Quit'],
          defaultId: 0,
        });
        if (choice === 0) win.webContents.reload();
        else app.quit();
      }
    });
    win.webContents.on('unresponsive', () => log.warn('the window is not responding'));
    void win.loadURL(`${APP_ORIGIN}/index.html`);
  };

  const showWindow = (): void => {
    if (!window) return createWindow();
    if (window.isMinimized()) window.restore();
    window.show();
    window.focus();
  };

  const setMenu = (): void => {
    const settings = core?.settings.get();
    Menu.setApplicationMenu(
      Menu.buildFromTemplate(
        menuTemplate({
          appName: PRODUCT_NAME,
          platform: process.platform,
          release: app.isPackaged,
          autoUpdate: { enabled: settings?.autoUpdate ?? false, available: app.isPackaged && !!core },
          actions: {
            openExternal: (url) => {
              if (externalUrlAllowed(url)) void shell.openExternal(url);
            },
            openLogs: () => void shell.openPath(logDir),
            openCrashReports: () => void shell.openPath(app.getPath('crashDumps')),
            openDataFolder: () => void shell.openPath(userData),
            setAutoUpdate: (on) => core?.settings.set({ autoUpdate: on }),
            checkForUpdates: () =>
              void updates?.checkNow().then((st) => {
                const text =
                  st.state === 'idle' ? `${PRODUCT_NAME} ${app.getVersion()} is the latest version.`
                  : st.state === 'downloading' ? `Version ${st.version} is being downloaded; it installs when you quit.`
                  : st.state === 'ready' ? `Version ${st.version} is downloaded; it installs when you quit.`
                  : st.state === 'error' ? st.message
                  : st.state === 'off' ? st.reason
                  : 'Checking…';
                void dialog.showMessageBox({ type: st.state === 'error' ? 'error' : 'info', message: 'Software update', detail: text });
              }),
          },
        }),
      ),
    );
  };
  app.setAboutPanelOptions({
    applicationName: PRODUCT_NAME,
    applicationVersion: app.getVersion(),
    copyright: 'Copyright © 2026 OmniSight Developers',
    iconPath: path.join(__dirname, '../../resources/icon.png'),
  });
  // A second launch brings this window forward (or opens it again when it was closed on macOS).
  app.on('second-instance', () => {
    if (app.isReady() && core) showWindow();
  });

  // The helper is restarted by its supervisor (main/fleet); here its death is explained in the log.
  app.on('child-process-gone', (_e, details) => {
    if (details.type !== 'Utility' || details.serviceName !== HELPER_SERVICE_NAME) return;
    const level = details.reason === 'clean-exit' ? 'info' : 'error';
    log[level]({ reason: details.reason, exitCode: details.exitCode }, `${goneMessage('The camera helper', details)} It is restarted automatically; crash reports are in ${app.getPath('crashDumps')}.`);
  });

  void app.whenReady().then(async () => {
    // Electron's default menu (Reload, Toggle Developer Tools, an empty Help) never shows.
    setMenu();
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
          process.env.OMNISIGHT_SQLITE_BINDING ??= electronSqliteBinding(sqliteBindingPlace());
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
          { label: 'Show window', click: showWindow },
          { type: 'separator' },
          { label: 'Quit', click: () => app.quit() },
        ]),
      );
    };
    core.bus.subscribe('audit.recorded', () => void refreshTray());
    core.bus.subscribe('audit.resolved', () => void refreshTray());
    void refreshTray();
    // Auto-update: off until the user opts in; the feed is a setting (main/electron/updates.ts).
    updates = createUpdateController({
      port: electronUpdater(log),
      log,
      installed: app.isPackaged,
      notify: (title, body) => {
        if (Notification.isSupported()) new Notification({ title, body }).show();
      },
    });
    const applySettings = (): void => {
      const st = core!.settings.get();
      updates?.apply({ autoUpdate: st.autoUpdate, updateFeedUrl: st.updateFeedUrl });
      setMenu();
    };
    core.bus.subscribe('settings.changed', applySettings);
    applySettings();
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
        updates?.close();
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
